"""Pydantic models of the Phase v1 API's JSON answers (docs/phase-api.md#endpoints).

Answers are camelCase (``sseEnabled``, ``isDefault``); the models use snake_case attributes
with camelCase aliases. ``GET /secrets/tokens/`` is the one snake_case answer (``KeysView``).
Unknown keys are ignored (the server may add fields); missing or mistyped known keys are an
error. ``parse`` turns a validation failure into a ``ProviderError`` that names the endpoint and
the field, never the value (an answer may hold a token).

A minted token's ``token`` and ``bearerToken`` are ``Secret`` objects from the moment they are
parsed, so not even a ``repr`` of a payload can show them.

The write path decodes through ``PhaseClient.decoded`` (``kit.answers.decode``): a malformed
answer there is ``<address>: unexpected answer from Phase (field 'id' missing)``. ``parse`` is
the read path's older form, naming the endpoint.
"""

from __future__ import annotations

import datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from reconciler.errors import ProviderError
from reconciler.secrets.value import Secret

T = TypeVar("T", bound=BaseModel)


def _secret(value: Any) -> Any:
    return Secret(value) if isinstance(value, str) else value


SecretText = Annotated[Secret, BeforeValidator(_secret)]


class Payload(BaseModel):
    """Base of camelCase answers."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="ignore",
        frozen=True,
        arbitrary_types_allowed=True,
    )


class Snake(BaseModel):
    """Base of snake_case answers (``/secrets/tokens/``)."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class Ref(Payload):
    """``{id, name}`` of a role or another object named inside an answer."""

    id: str
    name: str


# -- apps and environments ------------------------------------------------------------------


class Environment(Payload):
    id: str
    name: str
    env_type: str = ""
    index: int = 0


class App(Payload):
    id: str
    name: str
    description: str | None = None
    sse_enabled: bool
    created_at: datetime.datetime


class AppCreated(App):
    environments: list[Environment] = Field(default_factory=list)


# -- roles ----------------------------------------------------------------------------------


class Role(Payload):
    id: str
    name: str
    description: str | None = ""
    color: str | None = ""
    is_default: bool = False


class RolePermissions(Payload):
    permissions: dict[str, list[str]] = Field(default_factory=dict)
    app_permissions: dict[str, list[str]] = Field(default_factory=dict)
    global_access: bool = False


class RoleDetail(Role):
    permissions: RolePermissions = Field(default_factory=RolePermissions)


# -- access views ---------------------------------------------------------------------------


class AccessApp(Payload):
    """One app of an access view and the environments the principal holds keys for."""

    id: str
    name: str
    environments: list[Ref] = Field(default_factory=list)


# -- service accounts and tokens ------------------------------------------------------------


class TokenInfo(Payload):
    id: str
    name: str
    created_at: datetime.datetime
    expires_at: datetime.datetime | None = None


class MintedToken(TokenInfo):
    """A token as minted: the only answer that carries its secret."""

    token: SecretText


class ServiceAccount(Payload):
    id: str
    name: str
    role: Ref | None = None
    created_at: datetime.datetime


class ServiceAccountDetail(ServiceAccount):
    tokens: list[TokenInfo] = Field(default_factory=list)
    apps: list[AccessApp] = Field(default_factory=list)


class ServiceAccountCreated(ServiceAccount):
    initial_token: MintedToken | None = None


# -- members and invites --------------------------------------------------------------------


class Member(Payload):
    id: str
    email: str
    full_name: str | None = None
    role: Ref | None = None


class MemberAccess(Member):
    apps: list[AccessApp] = Field(default_factory=list)


class Invite(Payload):
    id: str
    invitee_email: str
    role: Ref | None = None
    created_at: datetime.datetime
    expires_at: datetime.datetime | None = None
    valid: bool = True


# -- teams ----------------------------------------------------------------------------------


class TeamMember(Payload):
    type: str
    id: str
    email: str | None = None
    name: str | None = None


class Team(Payload):
    id: str
    name: str
    description: str | None = ""
    is_scim_managed: bool = False
    member_role: Ref | None = None
    service_account_role: Ref | None = None


class TeamDetail(Team):
    members: list[TeamMember] = Field(default_factory=list)
    apps: list[AccessApp] = Field(default_factory=list)


# -- the caller's keys (GET /secrets/tokens/, snake_case) -----------------------------------


class KeyEnvironment(Snake):
    id: str
    name: str
    env_type: str = ""
    index: int = 0


class EnvironmentKey(Snake):
    """One key row of the caller: ``identity_key`` is the environment's X25519 public key,
    ``wrapped_seed``/``wrapped_salt`` are ``ph:v1`` ciphertexts addressed to the caller."""

    environment: KeyEnvironment
    identity_key: str | None = None
    wrapped_seed: str | None = None
    wrapped_salt: str | None = None


class KeysApp(Snake):
    id: str
    name: str
    encryption: str = "SSE"
    environment_keys: list[EnvironmentKey] = Field(default_factory=list)


# An app's environment as the v1 list (camelCase) or a key row (snake_case) gives it: the
# same fields, so a read uses either as it comes.
AnyEnvironment = Environment | KeyEnvironment


class Organisation(Snake):
    id: str
    name: str = ""


class KeysView(Snake):
    """Who the caller is (``user_id``: a member id; ``account_id``: a service account id) and
    every environment it holds a key for, grouped by app."""

    user_id: str | None = None
    account_id: str | None = None
    organisation: Organisation | None = None
    apps: list[KeysApp] = Field(default_factory=list)
    wrapped_key_share: str | None = None  # share B of the caller's private key, wrapped


# -- answers on the write path: only what apply uses is required ---------------------------


class Made(Payload):
    """A create answer of which apply uses the new object's id."""

    id: str


class Named(Made):
    """An item of a list a lookup by name reads (adopting an object after a lost answer)."""

    name: str


class AppMade(Made):
    """``POST /v1/apps/``: the app and the environments made with it."""

    environments: list[Environment] = Field(default_factory=list)


class ServiceAccountMade(Made):
    """``POST /v1/service-accounts/``: the account and the token minted with it."""

    initial_token: MintedToken | None = None


# -- secrets (``/v1/secrets/``, snake_case; only what a token's store needs) ----------------


class SecretEntry(Snake):
    """One stored secret as listed: its id, key and path. The value is never modelled, so it
    is dropped while the answer is validated."""

    id: str
    key: str
    path: str | None = "/"


# -- the console API (GraphQL, camelCase) ---------------------------------------------------


class ConsolePrincipal(Payload):
    """A member or service account with its ed25519 identity key (``None``: no keys yet)."""

    id: str
    identity_key: str | None = None
    role: Ref | None = None


class GraphQLError(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    message: str = "failed"


class GraphQLAnswer(BaseModel):
    """The envelope of every console answer: ``data`` and/or ``errors`` (graphene's form)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    data: dict[str, Any] | None = None
    errors: list[GraphQLError] | None = None


class ConsoleOrganisation(Payload):
    id: str
    name: str = ""
    member_id: str | None = None


class Organisations(Payload):
    organisations: list[ConsoleOrganisation]


class OrganisationMembers(Payload):
    organisation_members: list[ConsolePrincipal]


class ConsoleServiceAccounts(Payload):
    service_accounts: list[ConsolePrincipal] | None = None


class ServerKey(Payload):
    server_public_key: str


class ConsoleEnvironment(Payload):
    id: str
    name: str = ""


class EnvironmentCreated(Payload):
    environment: ConsoleEnvironment


class CreateEnvironment(Payload):
    create_environment: EnvironmentCreated


# -- list envelope and parsing --------------------------------------------------------------


class Listing(BaseModel, Generic[T]):
    """``{"data": [...]}``: every list endpoint (no pagination)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    data: list[T]


def parse(model: type[T], data: Any, address: object, what: str) -> T:
    """Validate an answer; raises ``ProviderError`` naming ``what`` and the first bad field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "(root)"
        raise ProviderError(
            address, f"unexpected answer from {what}: {where}: {first['msg']}"
        ) from None


def parse_list(model: type[T], data: Any, address: object, what: str) -> list[T]:
    """Validate a ``{"data": [...]}`` answer and return its items."""
    listing: Listing[T] = parse(Listing[model], data, address, what)  # type: ignore[valid-type]
    return listing.data
