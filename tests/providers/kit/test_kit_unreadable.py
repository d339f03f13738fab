"""``writeonly.unreadable_details``: how a write-only attribute's last applied value compares."""

from __future__ import annotations

from reconciler.address import Address
from reconciler.model.resource import Resource
from reconciler.plan.change import Action, Change, FieldDiff
from reconciler.providers.kit.writeonly import unreadable_details

A = Address("p", "thing", "x")
SENSITIVE = frozenset({"a", "b", "c"})


def test_each_write_only_attribute_says_how_it_compares() -> None:
    desired = Resource(
        A, {"a": "hmac-sha256:1", "b": "hmac-sha256:2", "c": "hmac-sha256:3"}, SENSITIVE
    )
    live = Resource(A, {"a": "hmac-sha256:1", "b": "hmac-sha256:9", "c": None}, SENSITIVE)
    diffs = (
        FieldDiff("b", "hmac-sha256:9", "hmac-sha256:2", True),
        FieldDiff("c", None, "x", True),
    )
    change = Change(Action.UPDATE, A, desired=desired, live=live, diffs=diffs)
    assert unreadable_details(change) == {
        "a": "cannot be read (last applied: matches spec)",
        "b": "cannot be read (last applied: differs from spec)",
        "c": "cannot be read (last applied: unknown (never applied from here))",
    }
    assert unreadable_details(Change(Action.CREATE, A, desired=desired)) == {}
