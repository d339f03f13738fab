"""Provider notes: a provider may explain live objects it must leave alone (deferred changes
without a desired object). The planner asks every provider, even one with no changes, keeps
them out of the executable plan and out of the unmanaged list, and drift grades them
unmanaged with the provider's reason."""

from __future__ import annotations

from collections.abc import Sequence

from plan_helpers import Caps, res, state

from reconciler.model.state import State
from reconciler.plan.build import build_plan
from reconciler.plan.change import Action, Change
from reconciler.plan.drift import Grade, from_plan
from reconciler.plan.plan import Violation
from reconciler.plan.policy import Policy


class Noting:
    capabilities = Caps(frozenset())

    def refine(self, changes: Sequence[Change], desired: State, live: State) -> list[Change]:
        notes = [
            Change(Action.DEFERRED, r.address, live=r, reason="delete by hand")
            for r in live.resources()
            if r.address not in desired
        ]
        return [*changes, *notes]

    def check(self, changes: Sequence[Change], desired: State, live: State) -> list[Violation]:
        return []


def test_notes_are_asked_for_without_changes_and_graded_unmanaged() -> None:
    live = state(res("m.domain.kept"), res("m.domain.gone"))
    plan = build_plan(
        state(res("m.domain.kept")),
        live,
        Policy(),
        spec_path="spec.yaml",
        spec_digest="0" * 64,
        hooks={"m": Noting()},
    )
    assert plan.empty and [str(c.address) for c in plan.changes] == ["m.domain.gone"]
    assert plan.unmanaged == ()  # explained once, by the note
    finding = from_plan(plan).findings[0]
    assert (finding.grade, finding.action) == (Grade.UNMANAGED, "none")
    assert finding.details == ("deferred: delete by hand",)
    assert not from_plan(plan).drift


def test_read_warnings_are_said_once_even_without_changes() -> None:
    live = state(res("m.domain.kept")).with_context("m", {"warnings": ["cannot list domains"]})
    plan = build_plan(
        state(res("m.domain.kept")),
        live,
        Policy(),
        spec_path="spec.yaml",
        spec_digest="0" * 64,
        hooks={"m": Noting()},
    )
    assert plan.empty and plan.warnings == ("cannot list domains",)
