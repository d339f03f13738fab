from __future__ import annotations

from plan_helpers import a, res, state

from reconciler.plan.change import Action
from reconciler.plan.diff import diff, field_diffs
from reconciler.plan.policy import Policy

PRUNE = Policy(prune=frozenset({("memory", "group")}))


def test_create_update_delete_and_unmanaged() -> None:
    desired = state(
        res("memory.group.new", description="n"),
        res("memory.group.same", x=1),
        res("memory.group.edit", x=2),
    )
    live = state(
        res("memory.group.same", x=1),
        res("memory.group.edit", x=1, extra="kept"),
        res("memory.group.gone"),
        res("memory.item.stray"),
    )
    out = diff(desired, live, PRUNE)
    got = {(c.action, str(c.address)) for c in out.changes}
    assert got == {
        (Action.CREATE, "memory.group.new"),
        (Action.UPDATE, "memory.group.edit"),
        (Action.DELETE, "memory.group.gone"),
    }
    assert out.unmanaged == (a("memory.item.stray"),)  # kind outside every prune scope
    edit = next(c for c in out.changes if c.action is Action.UPDATE)
    # only desired attributes are managed: ``extra`` is not diffed
    assert [(d.path, d.before, d.after) for d in edit.diffs] == [("x", 1, 2)]


def test_nested_mappings_diff_key_by_key() -> None:
    want = res("phase.member.m", access={"pay": ["Dev", "Prod"], "web": ["Dev"]})
    have = res("phase.member.m", access={"pay": ["Dev"], "old": ["Dev"]})
    paths = [(d.path, d.before, d.after) for d in field_diffs(want, have)]
    assert paths == [
        ("access.old", ["Dev"], None),
        ("access.pay", ["Dev"], ["Dev", "Prod"]),
        ("access.web", None, ["Dev"]),
    ]


def test_sensitive_values_compare_by_fingerprint_and_are_masked() -> None:
    want = res("memory.item.i", sensitive=["token"], token="hmac-sha256:aa")
    same = res("memory.item.i", sensitive=["token"], token="hmac-sha256:aa")
    unknown = res("memory.item.i", sensitive=["token"], token=None)
    assert field_diffs(want, same) == ()
    (d,) = field_diffs(want, unknown)
    assert d.sensitive and d.to_dict() == {
        "path": "token",
        "before": None,
        "after": "(sensitive)",
        "sensitive": True,
    }


def test_protected_objects_are_reported_and_never_deleted() -> None:
    policy = Policy(
        prune=frozenset({("memory", "group")}),
        protect=frozenset({a("memory.group.owner"), a("memory.group.keep")}),
    )
    desired = state(res("memory.group.owner", role="Developer"))
    live = state(res("memory.group.owner", role="Owner"), res("memory.group.keep"))
    out = diff(desired, live, policy)
    assert out.protected == (a("memory.group.owner"),)
    assert a("memory.group.keep") in out.unmanaged
    assert all(c.action is not Action.DELETE for c in out.changes)


def test_pending_live_object_gets_a_change_even_without_differences() -> None:
    out = diff(
        state(res("memory.member.m", role="dev")),
        state(res("memory.member.m", pending="invite not accepted", role="dev")),
        Policy(),
    )
    (change,) = out.changes
    assert change.diffs == () and change.live is not None
