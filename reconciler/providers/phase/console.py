"""The console API: GraphQL over a password-login session (docs/phase-api.md#console-api).

The REST API cannot say which members have identity keys, nor grant, change or revoke access to
end-to-end encrypted (E2EE) environments, create environments in E2EE apps or enable
server-side encryption. The console does these through its private GraphQL API, which takes a
session cookie, not a token. With ``connection.email`` and ``connection.password`` the provider
logs in once (``POST /auth/password/login/`` with the console's ``authHash``, computed here: the
password never leaves the process) and uses the operations below, under the console's own
operation names. Every ``envKeys`` entry is an ``EnvironmentKeyInput`` built by
``e2ee.KeyHolder``: ciphertexts only.

Errors name the operation and the server's message, never variables (they hold ciphertexts).
Every answer is validated (``payloads.GraphQLAnswer``, then the operation's own model): a
malformed one is ``<address>: unexpected answer from Phase (field '…' missing)``.

GraphQL requests are POSTs, which the client never retries by itself: the login, the queries
and the mutations that converge when repeated (``addAppMember`` and
``updateMemberEnvironmentScope`` upsert keys, ``initEnvSync`` sets the server's copies) are
marked idempotent, so the client sends them again after a server error or a lost answer;
``removeAppMember`` too, an "is not a member" answer to a repeat meaning the first one was done.
``renameEnvironment`` and ``deleteEnvironment`` (gone already) converge too.
``createEnvironment`` is not repeated: the provider looks the environment up instead.

The session cookie: a real server marks it ``Secure``, and an HTTP client never sends a Secure
cookie back over ``http://``, so every GraphQL request would find no session. After the login,
such a cookie is carried over plain http to a loopback host (the cookie never leaves the
machine: a local server or a tunnel), and refused for any other host with a message saying the
console login needs HTTPS.

GraphQL errors carry a message and no code (graphene's ``GraphQLError``), so the two
"already done" answers above are recognised by their message text; that is the only place this
provider reads a server message, and the only way the console API allows.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel

from reconciler.crypto.password import password_auth_hash
from reconciler.errors import ProviderError
from reconciler.providers.kit.answers import UnexpectedAnswer, decode
from reconciler.providers.kit.create import ambiguous
from reconciler.providers.phase import payloads as p
from reconciler.providers.phase.client import SYSTEM, PhaseClient
from reconciler.secrets.value import Secret

M = TypeVar("M", bound=BaseModel)
CONNECTION = "phase.connection"
# graphene's messages for the two repeats that find their work done (see the module docstring)
NOT_A_MEMBER = "not a member of this app"
NO_SUCH_OBJECT = "matching query does not exist"

log = logging.getLogger("reconciler.phase.console")

ORGANISATIONS = "query GetOrganisations { organisations { id name memberId } }"
MEMBERS = (
    "query GetOrganisationMembers($organisationId: ID!, $role: [String]) "
    "{ organisationMembers(organisationId: $organisationId, role: $role) "
    "{ id email identityKey role { id name } } }"
)
SERVICE_ACCOUNTS = (
    "query GetServiceAccounts($orgId: ID!) { serviceAccounts(orgId: $orgId) "
    "{ id name identityKey } }"
)
SERVER_KEY = "query GetServerKey { serverPublicKey }"
_APP_RESULT = "{ app { id sseEnabled } }"
ADD_APP_MEMBER = (
    "mutation AddMemberToApp($memberId: ID!, $memberType: MemberType, $appId: ID!, "
    "$envKeys: [EnvironmentKeyInput]) { addAppMember(memberId: $memberId, memberType: "
    f"$memberType, appId: $appId, envKeys: $envKeys) {_APP_RESULT} }}"
)
UPDATE_SCOPE = (
    "mutation UpdateEnvScope($memberId: ID!, $memberType: MemberType, $appId: ID!, "
    "$envKeys: [EnvironmentKeyInput]) { updateMemberEnvironmentScope(memberId: $memberId, "
    f"memberType: $memberType, appId: $appId, envKeys: $envKeys) {_APP_RESULT} }}"
)
REMOVE_APP_MEMBER = (
    "mutation RemoveMemberFromApp($memberId: ID!, $memberType: MemberType, $appId: ID!) "
    "{ removeAppMember(memberId: $memberId, memberType: $memberType, appId: $appId) "
    f"{_APP_RESULT} }}"
)
CREATE_ENV = (
    "mutation CreateEnv($envInput: EnvironmentInput!, $adminKeys: [EnvironmentKeyInput], "
    "$wrappedSeed: String, $wrappedSalt: String) { createEnvironment(environmentData: "
    "$envInput, adminKeys: $adminKeys, wrappedSeed: $wrappedSeed, wrappedSalt: $wrappedSalt) "
    "{ environment { id name envType index } } }"
)
RENAME_ENV = (
    "mutation RenameEnv($environmentId: ID!, $name: String!) { renameEnvironment("
    "environmentId: $environmentId, name: $name) { environment { id name } } }"
)
DELETE_ENV = (
    "mutation DeleteEnv($environmentId: ID!) { deleteEnvironment(environmentId: "
    "$environmentId) { ok } }"
)
INIT_SYNC = (
    "mutation InitAppSyncing($appId: ID!, $envKeys: [EnvironmentKeyInput]) "
    f"{{ initEnvSync(appId: $appId, envKeys: $envKeys) {_APP_RESULT} }}"
)


@dataclass(frozen=True)
class Identities:
    """Identity keys (ed25519 public, hex) by principal id; ``None`` for a member who has not
    set up their keys yet. ``roles``: member id -> role name."""

    members: Mapping[str, str | None] = field(default_factory=dict)
    service_accounts: Mapping[str, str | None] = field(default_factory=dict)
    roles: Mapping[str, str] = field(default_factory=dict)

    def of(self, kind: str, principal_id: str) -> str | None:
        table = self.members if kind == "user" else self.service_accounts
        return table.get(principal_id)


class Console:
    """One console session for ``email`` (logged in on first use)."""

    def __init__(
        self,
        client: PhaseClient,
        email: str,
        password: Secret,
        organisation: Callable[[], str | None] = lambda: None,
    ) -> None:
        self.client = client
        self.email = email.strip().lower()
        self.password = password
        self.organisation = organisation
        self.logged_in = False
        self._org: str | None = None

    def login(self) -> None:
        body = {
            "email": self.email,
            "authHash": password_auth_hash(self.password.reveal(), self.email),
        }
        try:
            self._post("/auth/password/login/", body, CONNECTION, retry=True)
        except ProviderError as exc:
            if ambiguous(exc):
                raise
            raise ProviderError(
                CONNECTION,
                f"console login as {self.email} failed (check email and password): "
                f"HTTP {exc.status}",
                exc.status,
            ) from None
        self._carry_secure_cookie()
        self.logged_in = True

    def _carry_secure_cookie(self) -> None:
        """See the module docstring: a Secure session cookie over ``http://``."""
        url = httpx.URL(self.client.base)
        if url.scheme != "http":
            return
        secure = [c for c in self.client.http.cookies.jar if c.secure]
        if not secure:
            return
        if not _loopback(url.host):
            raise ProviderError(
                CONNECTION,
                f"the console login needs HTTPS: {url.host} marks its session cookie Secure, "
                "which is never sent back over http://; use an https:// URL",
            )
        for cookie in secure:
            cookie.secure = False  # loopback only: the cookie stays on this machine

    def _post(
        self, path: str, body: Mapping[str, Any], address: object, *, retry: bool, route: str = ""
    ) -> Any:
        """POST beside the public API; ``retry``: sent again after an answer that may not have
        come back (the operation converges when repeated)."""
        return self.client.request(
            "POST", path, body=body, address=address, root=True, idempotent=retry,
            route=route or None,
        )  # fmt: skip

    def data(
        self,
        operation: str,
        document: str,
        variables: Mapping[str, Any],
        address: object = None,
        *,
        retry: bool = True,
    ) -> dict[str, Any]:
        """``data`` of one GraphQL operation; a resolver error raises ``ProviderError``.
        ``retry``: the operation may be sent again (see the module docstring)."""
        if not self.logged_in:
            self.login()
        where = address if address is not None else CONNECTION
        log.debug("console %s for %s", operation, where)
        body = {"operationName": operation, "query": document, "variables": dict(variables)}
        raw = self._post("/graphql/", body, where, retry=retry, route=f"POST /graphql/ {operation}")
        answer = decode(p.GraphQLAnswer, raw, address=where, system=SYSTEM)
        if answer.errors:
            raise ProviderError(where, f"console API: {operation}: {answer.errors[0].message}")
        if answer.data is None:
            raise UnexpectedAnswer(where, f"unexpected answer from {SYSTEM} (field 'data' missing)")
        return answer.data

    def query(
        self,
        model: type[M],
        operation: str,
        document: str,
        variables: Mapping[str, Any],
        address: object = None,
        *,
        retry: bool = True,
    ) -> M:
        """``data`` of one operation validated as ``model``."""
        data = self.data(operation, document, variables, address, retry=retry)
        where = address if address is not None else CONNECTION
        return decode(model, data, address=where, system=SYSTEM)

    def org_id(self) -> str | None:
        if self._org is None:
            self._org = self.organisation()
        if self._org is None:
            orgs = self.query(p.Organisations, "GetOrganisations", ORGANISATIONS, {})
            if len(orgs.organisations) == 1:
                self._org = orgs.organisations[0].id
        return self._org

    def identities(self) -> Identities | None:
        """Every member's and service account's identity key (two requests)."""
        org = self.org_id()
        if org is None:
            return None
        variables = {"organisationId": org, "role": None}
        found = self.query(p.OrganisationMembers, "GetOrganisationMembers", MEMBERS, variables)
        members = found.organisation_members
        accounts = self.query(
            p.ConsoleServiceAccounts, "GetServiceAccounts", SERVICE_ACCOUNTS, {"orgId": org}
        )
        sas = accounts.service_accounts or []
        return Identities(
            members={m.id: m.identity_key or None for m in members},
            service_accounts={s.id: s.identity_key or None for s in sas},
            roles={m.id: m.role.name for m in members if m.role is not None},
        )

    def server_public_key(self) -> str:
        return self.query(p.ServerKey, "GetServerKey", SERVER_KEY, {}).server_public_key

    # -- mutations -------------------------------------------------------------------------

    def set_app_access(
        self,
        op: str,
        kind: str,
        principal_id: str,
        app_id: str,
        env_keys: Sequence[Mapping[str, str]],
        address: object,
    ) -> None:
        """``op``: ``add`` (addAppMember), ``update`` (updateMemberEnvironmentScope: the
        individual scope in that app becomes exactly ``env_keys``) or ``remove``
        (removeAppMember: out of the app, individual keys revoked)."""
        variables: dict[str, Any] = {
            "memberId": principal_id,
            "memberType": "SERVICE" if kind == "service" else "USER",
            "appId": app_id,
        }
        if op == "remove":
            try:
                self.data("RemoveMemberFromApp", REMOVE_APP_MEMBER, variables, address)
            except ProviderError as exc:
                # a repeat after a lost answer: the first request removed it
                if NOT_A_MEMBER not in exc.message:
                    raise
            return
        variables["envKeys"] = [dict(k) for k in env_keys]
        if op == "add":
            self.data("AddMemberToApp", ADD_APP_MEMBER, variables, address)
        else:
            self.data("UpdateEnvScope", UPDATE_SCOPE, variables, address)

    def create_environment(
        self,
        env_input: Mapping[str, str],
        admin_keys: Sequence[Mapping[str, str]],
        address: object,
    ) -> str:
        """A new environment of an E2EE app (no server copy); returns its id."""
        made = self.query(
            p.CreateEnvironment,
            "CreateEnv",
            CREATE_ENV,
            {"envInput": dict(env_input), "adminKeys": [dict(k) for k in admin_keys]},
            address,
            retry=False,
        )
        return made.create_environment.environment.id

    def rename_environment(self, env_id: str, name: str, address: object) -> None:
        """Rename an environment (no keys involved; the REST API refuses E2EE apps')."""
        self.data("RenameEnv", RENAME_ENV, {"environmentId": env_id, "name": name}, address)

    def delete_environment(self, env_id: str, address: object) -> None:
        """Delete an environment with its keys and secrets. A repeat after a lost answer finds
        it gone, which is what was asked."""
        try:
            self.data("DeleteEnv", DELETE_ENV, {"environmentId": env_id}, address)
        except ProviderError as exc:
            if NO_SUCH_OBJECT not in exc.message:
                raise

    def init_env_sync(
        self, app_id: str, env_keys: Sequence[Mapping[str, str]], address: object
    ) -> None:
        """Enable server-side encryption: every environment's key wrapped for the server."""
        self.data(
            "InitAppSyncing",
            INIT_SYNC,
            {"appId": app_id, "envKeys": [dict(k) for k in env_keys]},
            address,
        )


def _loopback(host: str) -> bool:
    """``localhost`` or a loopback address (127.0.0.0/8, ::1)."""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
