"""Which collections and details a partial read covers (``live_scope.Scope``), pure."""

from __future__ import annotations

from reconciler.address import Address
from reconciler.providers.phase.live_scope import Scope

COLLECTIONS = ("roles", "apps", "service_accounts", "members", "invites", "teams")


def scope(*addresses: str) -> Scope:
    return Scope(frozenset(Address.parse(a) for a in addresses))


def read(s: Scope) -> set[str]:
    return {c for c in COLLECTIONS if s.reads(c)}


def test_a_full_read_reads_everything_and_keeps_everything() -> None:
    full = Scope()
    assert read(full) == set(COLLECTIONS) and full.identities()
    assert full.detail("member", "x@acme.test") and full.keeps(Address.parse("phase.app.x"))


def test_an_app_or_environment_needs_only_the_app_list() -> None:
    s = scope("phase.app.pay", "phase.environment.pay/Qa")
    assert read(s) == {"apps"} and not s.identities()
    assert s.keeps(Address.parse("phase.app.pay")) and not s.keeps(Address.parse("phase.app.web"))
    # without /secrets/tokens/ only the touched apps' environments are listed
    assert s.environments_of("pay") and not s.environments_of("web")
    # roles too when the environment is in an E2EE app (its key goes to global-access members)
    assert s.roles_for({"pay": False}) and not s.roles_for({"pay": True})


def test_principals_need_teams_in_full_and_only_their_own_details() -> None:
    s = scope("phase.member.d@acme.test")
    assert read(s) == {"apps", "roles", "members", "invites", "teams"} and s.identities()
    assert s.detail("member", "d@acme.test") and not s.detail("member", "e@acme.test")
    assert s.detail("team", "any")  # what teams grant is left out of a member's access
    assert s.detail("role", "Custom")  # global-access and token-minting roles
    token = scope("phase.sa_token.ci/deploy")
    assert token.detail("service_account", "ci") and not token.detail("service_account", "x")
    team = scope("phase.team.backend")
    assert not team.detail("team", "other") and not team.detail("member", "d@acme.test")
    assert read(team) == {"apps", "roles", "service_accounts", "members", "teams"}
