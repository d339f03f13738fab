"""The ``phase:`` spec section (pydantic, unknown keys rejected). See specs/phase.yaml.

Collections are maps keyed by natural identity: roles, apps, service accounts and teams by
name, members by e-mail. Access grants are ``{app: [environment, ...]}``. Durations
(``expires_in``, ``rotate_after``) are ``<n>m``, ``<n>h``, ``<n>d`` or ``<n>w`` (or a plain number
of days).

Every rule of the server that needs no network is checked at validate time, with the spec
location, so ``validate`` refuses what the server would refuse and accepts what it accepts.
Here: description lengths after sanitising and suspicious HTML (``sanitise``), durations the
server can add to its clock (``now + expires_in`` must stay before year 10000, else HTTP 500),
a sane request rate, names that are strings. Where they are compiled (so all such errors are
reported together): names (``normalise.name_problem``, ``env_name_problem``) and member
e-mails (``normalise.email_problem``: Django's EmailValidator).
"""

from __future__ import annotations

import datetime
import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from reconciler.providers.phase.normalise import text_problem
from reconciler.secrets.field import SecretField

Access = dict[str, list[str]]

_DURATION = re.compile(r"^\s*(\d+)\s*([mhdw]?)\s*$")
_UNIT = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "": 86400}


def duration_seconds(value: str | int) -> int:
    """``90d`` -> 7776000; a bare number counts days. Raises ``ValueError``, also for a
    duration the server cannot add to its clock (``now + duration`` past year 9999 is an
    ``OverflowError`` there: HTTP 500)."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 90d, 12h or 30m")
    if isinstance(value, int):
        seconds = value * 86400
    else:
        found = _DURATION.match(value)
        if found is None:
            raise ValueError("expected a duration such as 90d, 12h, 30m or 2w")
        seconds = int(found.group(1)) * _UNIT[found.group(2)]
    if seconds <= 0:
        raise ValueError("a duration must be positive")
    now = datetime.datetime.now(datetime.UTC)
    room = datetime.datetime.max.replace(tzinfo=datetime.UTC) - now
    if seconds > room.total_seconds() - 86400:  # a day of margin for clock skew
        raise ValueError(
            f"a duration must end before the year 10000 (at most {room.days - 1}d from now)"
        )
    return seconds


def _duration(value: str | int) -> str | int:
    duration_seconds(value)
    return value


Duration = Annotated[str | int, AfterValidator(_duration)]


def _text(max_length: int) -> AfterValidator:
    def check(value: str) -> str:
        problem = text_problem(value, "the text", max_length)
        if problem:
            raise ValueError(problem)
        return value

    return AfterValidator(check)


Description500 = Annotated[str, _text(500)]
Description10k = Annotated[str, _text(10000)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PhaseConnection(_Model):
    """Where the organisation is and how to authenticate (values from the environment)."""

    url: str = Field(
        description="API root: https://api.phase.dev, or https://<host>/service/public "
        "for a self-hosted console."
    )
    token: SecretField = Field(
        description="pss_user:v1:… (personal access token of an Owner or Admin: can do "
        "everything) or pss_service:v2:… (service-account token: limited, see specs/phase.yaml)."
    )
    email: str | None = Field(
        default=None,
        description="Console login of the token's user. With password, lets the plan see which "
        "members have not finished their key set-up (their grants are deferred).",
    )
    password: SecretField | None = Field(
        default=None, description="Console password for email (write-only)."
    )
    rate_limit: int = Field(
        default=240,
        ge=1,
        le=60000,
        description="Requests per minute paced by a token bucket (the server's budget is per "
        "principal: Free 120, Pro 240; at most 60000, 1000 a second).",
    )
    allow_insecure_http: bool = Field(
        default=False,
        description="Allow plain http:// to a host other than loopback (credentials would "
        "cross the network unencrypted).",
    )


class RoleSpec(_Model):
    """A custom role. Default roles (Owner, Admin, Manager, Developer, Service) exist in every
    organisation, cannot be declared or changed, and are referenced by name."""

    description: Description500 = Field(
        default="", description="Up to 500 characters once HTML tags are stripped."
    )
    color: str = Field(default="", max_length=7, description="e.g. '#6e7781'")
    permissions: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Organisation permissions: class -> actions (create, read, update, delete).",
    )
    app_permissions: dict[str, list[str]] = Field(
        default_factory=dict, description="Per-app permissions: class -> actions."
    )


class EnvironmentSpec(_Model):
    """An environment written as a mapping, to rename it in place or pin it by server id."""

    name: str
    previous_name: str | None = Field(
        default=None, description="Its live name before a rename: it is renamed, not recreated."
    )
    id: str | None = Field(default=None, description="Server id: the environment is this one.")


class AppSpec(_Model):
    """An app. ``environments`` is the ordered, complete list of its environments."""

    id: str | None = Field(
        default=None,
        description="Server id: pins the app when two live apps share a name, or across a rename.",
    )
    previous_name: str | None = Field(
        default=None, description="Its live name before a rename: it is renamed, not recreated."
    )
    description: Description10k | None = Field(
        default=None, description="Up to 10000 characters once HTML tags are stripped."
    )
    sse: bool = Field(
        default=True,
        description="Server-side encryption. Must be true to manage the app through the API; an "
        "existing end-to-end encrypted app is declared with sse: false and is read and guarded.",
    )
    environments: list[str | EnvironmentSpec] = Field(
        default_factory=lambda: list[str | EnvironmentSpec](
            ["Development", "Staging", "Production"]
        ),
        description="Names (letters, digits, - and _; up to 64), or {name, previous_name, id}.",
    )


class FileStore(_Model):
    """Write the token to a file (mode 0600), relative to the working directory."""

    file: str


class SecretStore(_Model):
    """Write the token into a secret of an SSE app (through /v1/secrets/)."""

    app: str
    environment: str
    key: str
    path: str = "/"


class TokenSpec(_Model):
    """A service-account token. Its secret is shown by the API once: it is written to ``store``
    and nowhere else (never to plans, logs or state)."""

    store: FileStore | SecretStore | None = None
    expires_in: Duration | None = Field(
        default=None, description="Lifetime of the token (immutable: changing it re-mints)."
    )
    rotate_after: Duration | None = Field(
        default=None,
        description="Age after which apply mints a new token, stores it, then deletes the old one.",
    )


class ServiceAccountSpec(_Model):
    """A service account (server-managed keys). Never a global-access role."""

    id: str | None = Field(default=None, description="Server id, when two share a name.")
    role: str = "Service"
    team: str | None = Field(
        default=None,
        description="Owning team (set at creation, immutable): the account is a member of the "
        "team and is deleted with it.",
    )
    access: Access = Field(default_factory=dict)
    tokens: dict[str, TokenSpec] = Field(default_factory=dict)


class MemberSpec(_Model):
    """A member, keyed by e-mail. One not in the organisation is invited; until the invite is
    accepted (and the member has set up their keys) their role and grants are deferred."""

    role: str = "Developer"
    access: Access = Field(default_factory=dict)


class TeamSpec(_Model):
    """A team: its members and service accounts get its access."""

    id: str | None = Field(default=None, description="Server id, when two share a name.")
    description: Description10k = Field(
        default="", description="Up to 10000 characters once HTML tags are stripped."
    )
    member_role: str | None = Field(default=None, description="Role of members inside the team.")
    service_account_role: str | None = Field(
        default=None, description="Role of service accounts inside the team."
    )
    members: list[str] = Field(default_factory=list)
    service_accounts: list[str] = Field(default_factory=list)
    access: Access = Field(default_factory=dict)


class PhaseSection(_Model):
    """A Phase organisation: roles, apps and environments, service accounts and their tokens,
    members and invites, teams, and access grants."""

    connection: PhaseConnection
    prune: list[str] = Field(
        default_factory=list,
        description="Collections where live objects absent from the spec are deleted: roles, "
        "apps, environments, service_accounts, tokens, members, teams.",
    )
    protect: dict[str, list[str]] = Field(
        default_factory=dict, description="Collection -> names never changed or deleted."
    )
    roles: dict[str, RoleSpec] = Field(default_factory=dict)
    apps: dict[str, AppSpec] = Field(default_factory=dict)
    service_accounts: dict[str, ServiceAccountSpec] = Field(default_factory=dict)
    members: dict[str, MemberSpec] = Field(
        default_factory=dict,
        description="Keyed by e-mail (as the server validates it; compared lower-cased).",
    )
    teams: dict[str, TeamSpec] = Field(default_factory=dict)
