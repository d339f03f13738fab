"""The ``flagsmith:`` spec section (pydantic, unknown keys rejected). See specs/flagsmith.yaml.

Members are keyed by e-mail (compared lower-cased), groups and projects by name, environments
by name within their project, repositories by ``owner/name``. Integration secrets are
``SecretField``s: only ``${env:...}``, ``${file:...}`` or ``!encrypted`` values are accepted.
Permission keys are checked against the server's permission models.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from reconciler.secrets.field import SecretField

Role = Literal["ADMIN", "USER"]
PROJECT_PERMISSIONS = (
    "VIEW_PROJECT",
    "CREATE_ENVIRONMENT",
    "DELETE_FEATURE",
    "CREATE_FEATURE",
    "EDIT_FEATURE",
    "MANAGE_SEGMENTS",
    "VIEW_AUDIT_LOG",
    "MANAGE_TAGS",
    "MANAGE_PROJECT_LEVEL_CHANGE_REQUESTS",
    "APPROVE_PROJECT_LEVEL_CHANGE_REQUESTS",
    "CREATE_PROJECT_LEVEL_CHANGE_REQUESTS",
)
ENVIRONMENT_PERMISSIONS = (
    "VIEW_ENVIRONMENT",
    "UPDATE_FEATURE_STATE",
    "MANAGE_IDENTITIES",
    "VIEW_IDENTITIES",
    "CREATE_CHANGE_REQUEST",
    "APPROVE_CHANGE_REQUEST",
    "MANAGE_SEGMENT_OVERRIDES",
)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FlagsmithConnection(_Model):
    """How to reach the server: the API root and an organisation admin API key."""

    url: str = Field(description="The API root, e.g. https://api.flagsmith.com/api/v1.")
    api_key: SecretField = Field(
        description="An admin organisation API key (sent as 'Authorization: Api-Key <key>')."
    )
    rate_limit: int = Field(default=240, ge=1, le=100000, description="Requests per minute.")
    allow_insecure_http: bool = Field(
        default=False,
        description="Allow plain http:// to a host other than loopback (credentials would "
        "cross the network unencrypted).",
    )


class MemberSpec(_Model):
    """An organisation member; an e-mail the organisation does not know is invited."""

    role: Role = Field(default="USER", description="ADMIN or USER.")
    groups: list[str] = Field(default_factory=list, description="Groups the member belongs to.")


class GroupSpec(_Model):
    """A user group (members are listed on each member)."""


class Grant(_Model):
    """What a user or group may do on a project or environment."""

    admin: bool = False
    permissions: list[str] = Field(default_factory=list, description="Permission keys.")


class Grants(_Model):
    users: dict[str, Grant] = Field(default_factory=dict, description="By member e-mail.")
    groups: dict[str, Grant] = Field(default_factory=dict, description="By group name.")


class AzureDevOps(_Model):
    """Azure DevOps: the server checks a new PAT against ADO before storing it."""

    organisation_url: str
    personal_access_token: SecretField = Field(description="Write-only: read back masked.")
    labeling_enabled: bool | None = None
    tagging_enabled: bool | None = None


class GitLab(_Model):
    gitlab_instance_url: str
    access_token: SecretField = Field(description="Write-only: read back masked.")
    labeling_enabled: bool | None = None


class Datadog(_Model):
    base_url: str | None = None
    api_key: SecretField = Field(description="Read back in clear; compared, never shown.")
    use_custom_source: bool | None = None


class NewRelic(_Model):
    base_url: str | None = None
    api_key: SecretField
    app_id: str | None = None


class Grafana(_Model):
    base_url: str | None = None
    api_key: SecretField


class Integrations(_Model):
    """At most one configuration of each kind per project."""

    azure_devops: AzureDevOps | None = None
    gitlab: GitLab | None = None
    datadog: Datadog | None = None
    new_relic: NewRelic | None = None
    grafana: Grafana | None = None


class ProjectSpec(_Model):
    environments: list[str] = Field(default_factory=list)
    permissions: Grants = Field(default_factory=Grants)
    environment_permissions: dict[str, Grants] = Field(default_factory=dict)
    integrations: Integrations = Field(default_factory=Integrations)


class RepositorySpec(_Model):
    project: str = Field(description="The project the repository is linked to.")
    tagging_enabled: bool = False


class GitHubSpec(_Model):
    """The organisation's GitHub App installation and the repositories linked to projects."""

    installation_id: str
    repositories: dict[str, RepositorySpec] = Field(
        default_factory=dict, description="By 'owner/name'."
    )

    @field_validator("repositories")
    @classmethod
    def _full_names(cls, value: dict[str, RepositorySpec]) -> dict[str, RepositorySpec]:
        for name in value:
            owner, _, repo = name.partition("/")
            if not owner or not repo or "/" in repo:
                raise ValueError(f"repository {name!r} is not 'owner/name'")
        return value


class Protect(_Model):
    members: list[str] = Field(default_factory=list)
    projects: list[str] = Field(default_factory=list)


class FlagsmithSection(_Model):
    """The ``flagsmith:`` section of a spec: one organisation."""

    connection: FlagsmithConnection
    organisation: str | None = Field(
        default=None,
        description="The organisation's name; omitted: the API key's own (a key belongs to one).",
    )
    organisation_id: int | None = Field(default=None, description="Pins the organisation.")
    prune: list[str] = Field(
        default_factory=list,
        description="Collections whose undeclared live objects are deleted: projects, "
        "environments, integrations, groups, repositories, members, permissions.",
    )
    protect: Protect = Field(default_factory=Protect)
    members: dict[str, MemberSpec] = Field(default_factory=dict)
    groups: dict[str, GroupSpec] = Field(default_factory=dict)
    projects: dict[str, ProjectSpec] = Field(default_factory=dict)
    github: GitHubSpec | None = None
