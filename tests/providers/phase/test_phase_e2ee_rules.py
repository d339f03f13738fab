"""E2EE planning on hand-built states (no sandbox): which steps an access change takes, what the
plan shows, and what it refuses (no key to wrap, no key holder left, teams, one-way SSE)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx
from test_phase_rules import APPS, USER, Recorder, a, plan, provider, r, rules

from reconciler.crypto.keyring import key_fingerprint
from reconciler.crypto.primitives import sign_keypair
from reconciler.providers.phase.console import Identities
from reconciler.providers.phase.e2ee import HeldKey, Step, access_steps
from reconciler.providers.phase.provider import PhaseProvider
from reconciler.secrets.value import Secret

E2EE = {"vault"}


def test_a_principal_without_e2ee_apps_gets_one_rest_update_then_console_adds() -> None:
    steps = access_steps(set(), {"pay": ["Dev"]}, {"pay": ["Dev", "Prod"], "vault": ["Dev"]}, E2EE)
    assert steps.put == {"pay": ["Dev", "Prod"]}
    assert steps.steps == (Step("add", "vault", ("Dev",)),)
    assert steps.wrapped() == [("vault", "Dev")]


def test_a_holder_of_e2ee_access_changes_app_by_app_and_never_by_rest() -> None:
    steps = access_steps(
        {"pay", "vault", "old"},
        {"pay": ["Dev"], "vault": ["Dev", "Prod"], "old": ["Dev"]},
        {"pay": ["Dev", "Prod"], "vault": ["Dev", "Prod"], "new": ["Dev"]},
        E2EE,
    )
    assert steps.put is None
    assert steps.steps == (
        Step("add", "new", ("Dev",)),
        Step("remove", "old"),
        Step("update", "pay", ("Dev", "Prod")),
    )  # vault is unchanged: untouched


def test_an_app_the_token_cannot_see_forces_the_console_path() -> None:
    steps = access_steps({"pay"}, {"pay": ["Dev"]}, {"pay": ["Prod"]}, set(), unseen=True)
    assert steps.put is None and steps.steps == (Step("update", "pay", ("Prod",)),)


def test_team_only_access_is_not_removed_individually_and_resend_forces_updates() -> None:
    # pay/Dev through a team only (not in the individual list): nothing to remove
    assert access_steps({"vault"}, {"pay": ["Dev"], "vault": ["Dev"]},
                        {"vault": ["Dev"]}, E2EE).steps == ()  # fmt: skip
    forced = access_steps({"vault"}, {"vault": ["Dev"]}, {"vault": ["Dev"]}, E2EE,
                          force=frozenset({"vault"}))  # fmt: skip
    assert forced.steps == (Step("update", "vault", ("Dev",)),)


def console_provider() -> PhaseProvider:
    """``provider()``'s organisation, with a console login (E2EE grants managed)."""
    fresh = PhaseProvider(
        "https://phase.test/public",
        Secret(USER),
        console=("owner@acme.test", Secret("pw")),
        transport=httpx.MockTransport(Recorder()),
        sleep=lambda _s: None,
    )
    fresh.work.reset(provider().index)
    fresh._read_once = True
    return fresh


DEV_KEY = sign_keypair()[0]


def grant(access: dict[str, list[str]], live_access: dict[str, list[str]] | None = None,
          apps: list[str] | None = None) -> tuple[object, object]:  # fmt: skip
    live = r(
        "member", "dev@acme.test", id="m1", meta={"access": live_access or {}, "apps": apps or []},
        role="Developer", access=live_access or {}, e2ee_access=[],
        identity_key=key_fingerprint(DEV_KEY),
    )  # fmt: skip
    want = r("member", "dev@acme.test", meta={"access": access}, role="Developer", access=access)
    return want, live


def test_the_plan_shows_recipient_key_and_key_holder_for_each_wrap() -> None:
    p = console_provider()
    p.index.held = {"vault/Dev": HeldKey("00" * 32, "ph:v1:x", "ph:v1:y")}
    p.index.identities = Identities(members={"m0": DEV_KEY}, roles={"m0": "Owner"})
    want, live = grant({"vault": ["Dev"]})
    result = plan(p, [*APPS, want], [*APPS, live])
    assert result.violations == ()
    (change,) = [c for c in result.changes if c.address == a("member", "dev@acme.test")]
    assert change.details["e2ee_wrap"] == ["vault/Dev"]
    assert change.details["e2ee_recipient_key"] == key_fingerprint(DEV_KEY)
    assert change.details["e2ee_key_holder"] == f"owner@acme.test ({key_fingerprint(DEV_KEY)})"


def test_a_wrap_the_applier_holds_no_key_for_is_refused() -> None:
    p = console_provider()  # holds no key rows
    want, live = grant({"vault": ["Dev"]})
    result = plan(p, [*APPS, want], [*APPS, live])
    assert rules(result) == [("e2ee_key", "phase.member.dev@acme.test")]
    assert "holds no key for vault/Dev" in result.violations[0].message


def test_revoking_the_last_known_holder_is_refused_and_revocation_warns() -> None:
    p = console_provider()  # the applier holds no key for vault/Dev
    want, live = grant({}, live_access={"vault": ["Dev"]}, apps=["vault"])
    result = plan(p, [*APPS, want], [*APPS, live])
    assert rules(result) == [("e2ee_holder", "phase.member.dev@acme.test")]
    assert "vault/Dev would be left with no key holder" in result.violations[0].message
    # with the applier holding the key, the revocation is allowed, with its warning
    p.index.held = {"vault/Dev": HeldKey("00" * 32, "ph:v1:x", "ph:v1:y")}
    allowed = plan(p, [*APPS, want], [*APPS, live])
    assert allowed.violations == ()
    (change,) = [c for c in allowed.changes if c.address == a("member", "dev@acme.test")]
    assert any("revocation is not rotation" in w for w in change.warnings)
    assert change.details["e2ee_console_steps"] == ["remove vault"]


def test_teams_cannot_hold_e2ee_apps_and_sse_is_one_way() -> None:
    p = console_provider()
    team = r("team", "t", name="t", description="", member_role=None,
             service_account_role=None, members=[], service_accounts=[],
             access={"vault": ["Dev"]})  # fmt: skip
    result = plan(p, [*APPS, team], APPS)
    assert rules(result) == [("e2ee", "phase.team.t")]
    assert "teams can hold only apps with server-side encryption" in result.violations[0].message
    sse_app = r("app", "pay", id="app-pay", name="pay", description=None, sse=False)
    off = plan(p, [APPS[1], sse_app], APPS)
    assert rules(off) == [("e2ee", "phase.app.pay")]
    assert "cannot be turned off" in off.violations[0].message


def test_enabling_sse_needs_a_key_for_every_environment() -> None:
    p = console_provider()
    env = r("environment", "vault/Dev", id="env-vdev", name="Dev")
    on = r("app", "vault", id="app-vault", name="vault", description=None, sse=True)
    refused = plan(p, [APPS[0], on, env], [*APPS, env])
    assert rules(refused) == [("e2ee_key", "phase.app.vault")]
    p.index.held = {"vault/Dev": HeldKey("00" * 32, "ph:v1:x", "ph:v1:y")}
    allowed = plan(p, [APPS[0], on, env], [*APPS, env])
    assert allowed.violations == ()
    (change,) = [c for c in allowed.changes if c.address == a("app", "vault")]
    assert "initEnvSync" in str(change.details["enable_sse"])
    assert any("one-way" in w for w in change.warnings)


def test_without_the_console_login_e2ee_grants_say_how_to_enable_them() -> None:
    want, live = grant({"vault": ["Dev"]})
    result = plan(provider(), [*APPS, want], [*APPS, live])
    assert rules(result) == [("e2ee", "phase.member.dev@acme.test")]
    assert "connection.email and connection.password" in result.violations[0].message


def test_no_empty_rest_update_for_a_principal_gaining_only_e2ee_access() -> None:
    steps = access_steps(set(), {}, {"vault": ["Dev"]}, E2EE)
    assert steps.put is None and steps.steps == (Step("add", "vault", ("Dev",)),)
    # in an SSE app it leaves: the REST update revokes it
    assert access_steps({"pay"}, {"pay": ["Dev"]}, {"vault": ["Dev"]}, E2EE).put == {}
