"""The Phase planning rules as pure functions: ``rules.refine`` and ``rules.check`` on hand-made
states whose context carries the facts a read learns. No provider instance, no network."""

from __future__ import annotations

from collections.abc import Iterable

from reconciler.address import Address
from reconciler.model.resource import JSON, Resource
from reconciler.model.state import State
from reconciler.plan.change import Action, Change
from reconciler.plan.diff import field_diffs
from reconciler.providers.phase import rules
from reconciler.providers.phase.rules import Facts, facts_of


def a(kind: str, name: str) -> Address:
    return Address("phase", kind, name)


def r(kind: str, label: str, /, id: str | None = None, meta: dict[str, JSON] | None = None,
      **attrs: JSON) -> Resource:  # fmt: skip
    return Resource(a(kind, label), attrs, id=id, meta=meta or {})


def live(resources: Iterable[Resource], facts: Facts | None = None) -> State:
    state = State(resources)
    return state if facts is None else state.with_context("phase", facts.to_json())


def update(desired: Resource, was: Resource) -> Change:
    return Change(Action.UPDATE, desired.address, desired=desired, live=was,
                  diffs=field_diffs(desired, was))  # fmt: skip


def found(violations: Iterable[object]) -> list[tuple[str, str]]:
    return [(v.rule, ", ".join(map(str, v.addresses))) for v in violations]  # type: ignore[attr-defined]


ME = Facts(caller_id="m0", caller_email="me@acme.test")


def test_facts_travel_as_json_in_the_live_state_and_default_when_absent() -> None:
    facts = Facts(
        token_kind="service",
        e2ee=True,
        caller_id="s1",
        caller_sa="robot",
        caller_key="ab:cd",
        global_roles=frozenset({"Owner", "Admin", "Ops"}),
        envs=("pay/Dev", "pay/Prod"),
        held=frozenset({"pay/Dev"}),
        key_holders=("boss@acme.test",),
    )
    state = live([], facts)
    assert facts_of(state) == facts
    assert Facts.from_json(facts.to_json()) == facts
    assert facts_of(State()) == Facts()  # hand-made without facts: the defaults
    assert Facts.from_json({"caller_id": 7, "held": "x"}) == Facts()  # mistyped: defaults


def test_check_protects_the_applying_principal_named_by_the_facts_alone() -> None:
    was = r("member", "me@acme.test", id="m0", role="Admin")
    want = r("member", "me@acme.test", role="Developer", access={})
    change = update(want, was)
    assert found(rules.check([change], State([want]), live([was], ME))) == [
        ("self", "phase.member.me@acme.test")
    ]
    # without facts the server did not name the caller: no self rule, a warning instead
    assert rules.check([change], State([want]), live([was])) == []
    refined = rules.refine([change], State([want]), live([was]))
    assert "did not say which principal" in refined[0].warnings[0]
    assert rules.refine([change], State([want]), live([was], ME))[0].warnings == ()


def test_a_service_account_token_is_refused_what_it_cannot_do() -> None:
    facts = Facts(token_kind="service", caller_id="s1", caller_sa="robot")
    robot = r("service_account", "robot", id="s1", role="Service", team=None,
              access={"pay": ["Dev"]}, meta={"access": {"pay": ["Dev"]}})  # fmt: skip
    other = r("service_account", "ci", id="s2", role="Service", team=None, access={})
    want = r("service_account", "ci", role="Service", team=None, access={"pay": ["Prod"]})
    got = rules.check([update(want, other)], State([robot, want]), live([robot, other], facts))
    assert found(got) == [("sa_caller", "phase.service_account.ci")]
    assert "it lacks pay/Prod" in got[0].message
    # the same grant of an environment it holds is allowed
    ok = r("service_account", "ci", role="Service", team=None, access={"pay": ["Dev"]})
    assert rules.check([update(ok, other)], State([robot, ok]), live([robot, other], facts)) == []


def test_e2ee_rules_read_held_keys_and_key_holders_from_the_facts() -> None:
    vault = r("app", "vault", id="app-v", name="vault", description=None, sse=False)
    new_env = r("environment", "vault/Qa", name="Qa")
    create = Change(Action.CREATE, new_env.address, desired=new_env)
    facts = Facts(e2ee=True, caller_id="m0", caller_email="me@acme.test",
                  key_holders=("boss@acme.test", "me@acme.test"))  # fmt: skip
    refined = rules.refine([create], State([vault, new_env]), live([vault], facts))
    assert refined[0].details["e2ee_new_key"].endswith("boss@acme.test, me@acme.test")  # type: ignore[union-attr]
    # granting vault/Dev: refused unless the applier holds its key (per the facts)
    dev = r("member", "d@acme.test", id="m1", role="Developer", access={}, e2ee_access=[],
            identity_key="ff:ee", meta={"access": {}, "apps": []})  # fmt: skip
    grant = {"vault": ["Dev"]}
    want = r("member", "d@acme.test", role="Developer", access=grant, meta={"access": grant})
    change = update(want, dev)
    desired = State([vault, want])
    assert found(rules.check([change], desired, live([vault, dev], facts))) == [
        ("e2ee_key", "phase.member.d@acme.test")
    ]
    holding = Facts(e2ee=True, caller_id="m0", held=frozenset({"vault/Dev"}), caller_key="aa:bb",
                    caller_email="me@acme.test")  # fmt: skip
    assert rules.check([change], desired, live([vault, dev], holding)) == []
    shown = rules.refine([change], desired, live([vault, dev], holding))[0].details
    assert shown["e2ee_wrap"] == ["vault/Dev"]
    assert shown["e2ee_key_holder"] == "me@acme.test (aa:bb)"
    assert shown["e2ee_recipient_key"] == "ff:ee"


def test_promotion_wraps_every_held_e2ee_environment_listed_in_the_facts() -> None:
    vault = r("app", "vault", id="app-v", name="vault", description=None, sse=False)
    dev = r("member", "d@acme.test", id="m1", role="Developer", access={}, e2ee_access=[],
            identity_key="ff:ee", meta={"access": {}, "apps": []})  # fmt: skip
    want = r("member", "d@acme.test", role="Admin")
    facts = Facts(e2ee=True, caller_id="m0", envs=("pay/Dev", "vault/Dev", "vault/Prod"),
                  held=frozenset({"vault/Prod"}))  # fmt: skip
    shown = rules.refine([update(want, dev)], State([vault, want]), live([vault, dev], facts))
    assert shown[0].details["e2ee_wrap"] == ["vault/Prod"]


def test_a_member_the_last_apply_found_without_keys_is_noted_from_its_meta() -> None:
    was = r("member", "d@acme.test", id="m1", role="Developer", access={},
            meta={"no_keys_at_last_apply": True})  # fmt: skip
    want = r("member", "d@acme.test", role="Developer", access={"pay": ["Dev"]})
    refined = rules.refine([update(want, was)], State([want]), live([was], ME))
    assert refined[0].warnings == (
        "the last apply found this member without keys (not logged in since the invite); "
        "their access is set once they have logged in",
    )


def test_the_state_context_is_carried_but_never_compared() -> None:
    res = r("app", "pay", id="1", name="pay")
    plain, told = State([res]), State([res]).with_context("phase", {"caller_id": "m0"})
    assert plain == told and told.context == {"phase": {"caller_id": "m0"}}
    assert told.of_provider("phase").context == told.context
    assert told.of_provider("memory").context == {}
    merged = told.merge(State([r("app", "web", id="2")], {"memory": {"x": 1}}))
    assert merged.context == {"phase": {"caller_id": "m0"}, "memory": {"x": 1}}
    assert told[res.address].fingerprint() == plain[res.address].fingerprint()
