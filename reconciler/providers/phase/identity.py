"""Which members have finished their key set-up, read through the console API (optional).

The REST API does not say whether a member has an identity key, and an access update for one
without it fails (contracts/phase.md §5.5, §8 item 11). With ``connection.email`` and
``connection.password`` the provider logs in once (``POST /auth/password/login/``, the console's
``authHash``: Argon2id-MODERATE of the password salted with BLAKE2b-16 of ``"auth-v1:" +
email``, computed here; the password never leaves the process) and asks GraphQL
``organisationMembers`` for their identity keys, one request per read. A member without one is
*pending*: their grants are deferred instead of failing. Without credentials the apply finds it
out (the update is reported pending and retried by a later run).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from reconciler.crypto.password import password_auth_hash
from reconciler.errors import ProviderError
from reconciler.providers.phase.client import PhaseClient
from reconciler.secrets.value import Secret

MEMBERS_QUERY = (
    "query GetOrganisationMembers($organisationId: ID!, $role: [String]) "
    "{ organisationMembers(organisationId: $organisationId, role: $role) "
    "{ id email identityKey } }"
)
ORGANISATIONS_QUERY = "query GetOrganisations { organisations { id name memberId } }"


class IdentityReader:
    """Member id -> has an identity key, for the organisation ``organisation()`` names."""

    def __init__(
        self,
        client: PhaseClient,
        email: str,
        password: Secret,
        organisation: Callable[[], str | None],
    ) -> None:
        self.client = client
        self.email = email.strip().lower()
        self.password = password
        self.organisation = organisation
        self.logged_in = False

    def login(self) -> None:
        body = {
            "email": self.email,
            "authHash": password_auth_hash(self.password.reveal(), self.email),
        }
        try:
            self.client.request(
                "POST", "/auth/password/login/", body=body, address="phase", root=True
            )
        except ProviderError as exc:
            raise ProviderError(
                "phase.connection",
                f"console login as {self.email} failed (check email and password): "
                f"HTTP {exc.status}",
                exc.status,
            ) from None
        self.logged_in = True

    def query(self, operation: str, query: str, variables: Mapping[str, Any]) -> Any:
        answer = self.client.request(
            "POST",
            "/graphql/",
            body={"operationName": operation, "query": query, "variables": dict(variables)},
            address="phase.connection",
            root=True,
        )
        if not isinstance(answer, Mapping) or answer.get("errors") or "data" not in answer:
            raise ProviderError("phase.connection", f"console API: {operation} failed")
        return answer["data"]

    def __call__(self) -> Mapping[str, bool] | None:
        if not self.logged_in:
            self.login()
        org = self.organisation()
        if org is None:
            orgs = self.query("GetOrganisations", ORGANISATIONS_QUERY, {})["organisations"]
            if len(orgs) != 1:
                return None
            org = str(orgs[0]["id"])
        members = self.query(
            "GetOrganisationMembers", MEMBERS_QUERY, {"organisationId": org, "role": None}
        )["organisationMembers"]
        return {str(m["id"]): bool(m.get("identityKey")) for m in members}


def identity_reader(
    client: PhaseClient,
    email: str,
    password: Secret,
    organisation: Callable[[], str | None] = lambda: None,
) -> IdentityReader:
    return IdentityReader(client, email, password, organisation)
