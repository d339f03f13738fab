from __future__ import annotations

import pytest
from plan_helpers import a, res

from reconciler.errors import CycleError
from reconciler.plan.change import Action, Change
from reconciler.plan.order import order


def create(address: str, *deps: str) -> Change:
    return Change(Action.CREATE, a(address), desired=res(address, deps=deps))


def delete(address: str, *deps: str) -> Change:
    return Change(Action.DELETE, a(address), live=res(address, deps=deps))


def names(changes: tuple[Change, ...]) -> list[str]:
    return [str(c.address) for c in changes]


def test_parents_are_created_first_and_ties_go_by_address() -> None:
    changes = [
        create("m.item.a", "m.group.z"),
        create("m.group.z"),
        create("m.group.b"),
        create("m.item.c", "m.group.b", "m.item.a"),
    ]
    ordered = order(changes)
    assert names(ordered) == ["m.group.b", "m.group.z", "m.item.a", "m.item.c"]
    assert ordered[-1].depends_on == (a("m.group.b"), a("m.item.a"))
    assert names(order(list(reversed(changes)))) == names(ordered)


def test_children_are_deleted_first() -> None:
    ordered = order([delete("m.group.a"), delete("m.item.x", "m.group.a")])
    assert names(ordered) == ["m.item.x", "m.group.a"]
    assert ordered[1].depends_on == (a("m.item.x"),)


def test_moving_a_child_away_happens_before_deleting_its_old_parent() -> None:
    move = Change(
        Action.UPDATE,
        a("m.item.x"),
        desired=res("m.item.x", deps=["m.group.new"]),
        live=res("m.item.x", deps=["m.group.old"]),
    )
    ordered = order([delete("m.group.old"), move, create("m.group.new")])
    assert names(ordered) == ["m.group.new", "m.item.x", "m.group.old"]


def test_dependencies_outside_the_plan_are_ignored() -> None:
    (only,) = order([create("m.item.a", "m.group.exists")])
    assert only.depends_on == ()


def test_a_cycle_names_every_member_and_no_bystander() -> None:
    changes = [
        create("m.x.a", "m.x.c"),
        create("m.x.b", "m.x.a"),
        create("m.x.c", "m.x.b"),
        create("m.x.waits", "m.x.a"),
        create("m.x.free"),
    ]
    with pytest.raises(CycleError) as info:
        order(changes)
    assert info.value.addresses == ["m.x.a", "m.x.b", "m.x.c"]
    assert "dependency cycle: m.x.a -> m.x.b -> m.x.c" in str(info.value)


def test_two_changes_for_one_address_are_rejected() -> None:
    with pytest.raises(ValueError, match="two changes"):
        order([create("m.x.a"), delete("m.x.a")])
