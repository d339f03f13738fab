from __future__ import annotations

from plan_helpers import Caps, Hooks, a, res, state

from reconciler.plan.build import build_plan
from reconciler.plan.plan import Plan, Violation
from reconciler.plan.policy import Policy, SafetyLimits

DIGEST = "0" * 64


def build(desired, live, policy=Policy(), hooks=None) -> Plan:  # type: ignore[no-untyped-def]
    return build_plan(desired, live, policy, spec_path="spec.yaml", spec_digest=DIGEST, hooks=hooks)


def actions(plan: Plan) -> list[tuple[str, str]]:
    return [(c.action.value, str(c.address)) for c in plan.changes]


def test_invite_created_now_defers_its_dependents_transitively() -> None:
    desired = state(
        res("m.member.new"),
        res("m.grant.g", deps=["m.member.new"]),
        res("m.note.n", deps=["m.grant.g"]),
        res("m.grant.free"),
    )
    hooks = {"m": Hooks(capabilities=Caps(frozenset({"member"})))}
    plan = build(desired, state(), hooks=hooks)
    assert actions(plan) == [
        ("create", "m.grant.free"),
        ("create", "m.member.new"),
        ("deferred", "m.grant.g"),
        ("deferred", "m.note.n"),
    ]
    grant = plan.changes[2]
    assert grant.reason is not None and "waits for m.member.new" in grant.reason
    assert "m.note.n" not in plan.live_fingerprints  # deferred changes are not executed
    assert plan.counts() == {"create": 2, "update": 0, "delete": 0, "deferred": 2}
    assert not plan.empty


def test_pending_live_object_defers_updates_but_not_deletes() -> None:
    policy = Policy(prune=frozenset({("m", "member")}))
    live = state(
        res("m.member.p", pending="invite not accepted", role="a"),
        res("m.member.q", pending="invite not accepted"),
    )
    plan = build(
        state(res("m.member.p", role="b"), res("m.grant.g", deps=["m.member.p"])), live, policy
    )
    assert actions(plan) == [
        ("deferred", "m.member.p"),
        ("deferred", "m.grant.g"),
        ("delete", "m.member.q"),
    ]
    assert plan.changes[0].reason == "invite not accepted"
    assert plan.live_fingerprints == {"m.member.q": live[a("m.member.q")].fingerprint()}


def test_only_deferred_changes_make_an_empty_plan() -> None:
    live = state(res("m.member.p", pending="invite not accepted"))
    plan = build(state(res("m.member.p")), live)
    assert plan.empty and plan.changes


def test_live_fingerprints_cover_touched_objects_and_absence() -> None:
    live = state(res("m.group.g", x=1))
    plan = build(state(res("m.group.g", x=2), res("m.group.new")), live)
    assert plan.live_fingerprints == {
        "m.group.g": live[a("m.group.g")].fingerprint(),
        "m.group.new": None,
    }


def test_provider_hooks_refine_edges_and_check_rules() -> None:
    rule = Violation("owner", (a("m.group.b"),), "never demote the owner")
    hooks = {"m": Hooks(extra_edges={"m.group.a": ["m.group.b"]}, violations=[rule])}
    plan = build(state(res("m.group.a"), res("m.group.b")), state(), hooks=hooks)
    assert actions(plan) == [("create", "m.group.b"), ("create", "m.group.a")]
    assert plan.refused and plan.violations == (rule,)
    assert hooks["m"].seen == [["m.group.b", "m.group.a"]]


def test_delete_limits_and_override() -> None:
    live = state(*(res(f"m.group.g{i}") for i in range(4)))
    policy = Policy(
        prune=frozenset({("m", "group")}), limits=SafetyLimits(max_deletes=3, max_delete_share=0.5)
    )
    plan = build(state(), live, policy)
    rules = {v.rule for v in plan.violations}
    assert rules == {"max_deletes", "max_delete_share"}
    assert "4 of 4 live objects (100%)" in str(plan.violations[1])
    forced = Policy(prune=policy.prune, limits=SafetyLimits(3, 0.5, override=True))
    assert not build(state(), live, forced).refused


def test_one_delete_in_a_tiny_organisation_is_not_a_mass_deletion() -> None:
    policy = Policy(prune=frozenset({("m", "group")}))
    assert not build(state(), state(res("m.group.only")), policy).refused


def test_protected_update_refuses_the_plan() -> None:
    policy = Policy(protect=frozenset({a("m.member.owner")}))
    plan = build(
        state(res("m.member.owner", role="Dev")), state(res("m.member.owner", role="Owner")), policy
    )
    assert [v.rule for v in plan.violations] == ["protect"]


def test_same_input_same_digest_and_round_trip() -> None:
    desired = state(res("m.group.a", x=1), res("m.item.i", deps=["m.group.a"], v="1"))
    live = state(res("m.item.i", deps=["m.group.a"], v="0"))
    one, two = build(desired, live), build(desired, live)
    assert one.digest == two.digest
    assert Plan.from_dict(one.to_dict()).digest == one.digest
