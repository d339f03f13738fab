"""The ``phase:`` spec section (pydantic, unknown keys rejected). See specs/phase.yaml."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from reconciler.secrets.field import SecretField

Access = dict[str, list[str]]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PhaseConnection(_Model):
    """Where the organisation is and how to authenticate (values from the environment)."""

    url: str = Field(description="API root, e.g. https://api.phase.dev or .../service/public")
    token: SecretField = Field(description="pss_user:v1:… (PAT) or pss_service:v2:… (SA token)")
    email: str | None = Field(default=None, description="Login email for E2EE operations")
    password: SecretField | None = Field(default=None, description="Password for E2EE operations")
    rate_limit: int = Field(default=240, ge=1, description="Requests per minute to pace to")


class RoleSpec(_Model):
    """A custom role; default roles (Owner, Admin, Manager, Developer, Service) are read-only."""

    description: str = ""
    color: str = ""
    permissions: dict[str, list[str]] = Field(default_factory=dict)
    app_permissions: dict[str, list[str]] = Field(default_factory=dict)


class AppSpec(_Model):
    """An app; ``environments`` is the ordered, complete list of its environments."""

    description: str | None = None
    environments: list[str] = Field(
        default_factory=lambda: ["Development", "Staging", "Production"]
    )
    sse: bool = True
    previous_name: str | None = None
    renamed_environments: dict[str, str] = Field(
        default_factory=dict, description="new name -> previous name, to rename in place"
    )


class FileStore(_Model):
    file: str


class SecretStore(_Model):
    app: str
    environment: str
    key: str
    path: str = "/"


class TokenSpec(_Model):
    """A service-account token; its secret is written once to ``store``."""

    store: FileStore | SecretStore | None = None
    expires_in_days: int | None = Field(default=None, ge=1)
    rotate_after_days: int | None = Field(default=None, ge=1)


class ServiceAccountSpec(_Model):
    role: str = "Service"
    access: Access = Field(default_factory=dict)
    tokens: dict[str, TokenSpec] = Field(default_factory=dict)


class MemberSpec(_Model):
    role: str = "Developer"
    access: Access = Field(default_factory=dict)


class TeamSpec(_Model):
    description: str = ""
    member_role: str | None = None
    service_account_role: str | None = None
    members: list[str] = Field(default_factory=list)
    service_accounts: list[str] = Field(default_factory=list)
    access: Access = Field(default_factory=dict)


class PhaseSection(_Model):
    """The ``phase:`` section of a spec."""

    connection: PhaseConnection
    prune: list[str] = Field(default_factory=list)
    protect: dict[str, list[str]] = Field(default_factory=dict)
    roles: dict[str, RoleSpec] = Field(default_factory=dict)
    apps: dict[str, AppSpec] = Field(default_factory=dict)
    service_accounts: dict[str, ServiceAccountSpec] = Field(default_factory=dict)
    members: dict[str, MemberSpec] = Field(default_factory=dict)
    teams: dict[str, TeamSpec] = Field(default_factory=dict)
