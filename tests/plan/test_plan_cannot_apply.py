"""Changes a system cannot apply (``Change.cannot_apply``: a field of a create-only API): a
provider's ``refine`` turns an update into a deferred change that is never executed, yet is
drift (graded changed, action none), renders as such, survives the JSON round trip, and does
not hold back the changes that depend on its object (which exists)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path

import jsonschema
from plan_helpers import Caps, res, state

from reconciler.model.state import State
from reconciler.plan.build import build_plan
from reconciler.plan.change import Action, Change
from reconciler.plan.drift import Grade, from_plan
from reconciler.plan.plan import Plan, Violation
from reconciler.plan.policy import Policy
from reconciler.plan.render import render_text

SPECS = Path(__file__).resolve().parents[2] / "specs"


class CreateOnly:
    capabilities = Caps(frozenset())

    def refine(self, changes: Sequence[Change], desired: State, live: State) -> list[Change]:
        return [
            dataclasses.replace(
                c, action=Action.DEFERRED, cannot_apply=True, reason="no update: edit it there"
            )
            if c.action is Action.UPDATE
            else c
            for c in changes
        ]

    def check(self, changes: Sequence[Change], desired: State, live: State) -> list[Violation]:
        return []


def _plan() -> Plan:
    desired = state(res("m.program.p", budget=2), res("m.unit.u", deps=["m.program.p"]))
    live = state(res("m.program.p", budget=1))
    return build_plan(
        desired, live, Policy(), spec_path="s", spec_digest="0" * 64, hooks={"m": CreateOnly()}
    )


def test_not_executed_but_drift_and_dependents_proceed() -> None:
    plan = _plan()
    by = {str(c.address): c for c in plan.changes}
    assert by["m.program.p"].action is Action.DEFERRED and by["m.program.p"].cannot_apply
    assert by["m.unit.u"].action is Action.CREATE  # its parent exists: not held back
    assert [str(c.address) for c in plan.executable] == ["m.unit.u"]
    report = from_plan(plan)
    finding = next(f for f in report.findings if f.address == "m.program.p")
    assert (finding.grade, finding.action) == (Grade.CHANGED, "none")
    assert "cannot apply: no update: edit it there" in finding.details
    assert report.drift


def test_only_cannot_apply_is_still_drift_and_an_empty_plan() -> None:
    plan = build_plan(
        state(res("m.program.p", budget=2)),
        state(res("m.program.p", budget=1)),
        Policy(),
        spec_path="s",
        spec_digest="0" * 64,
        hooks={"m": CreateOnly()},
    )
    assert plan.empty and from_plan(plan).drift
    text = render_text(plan)
    assert "~" not in text.split("\n")[1]
    assert "m.program.p (cannot be applied)" in text and "budget: 1 -> 2" in text


def test_round_trip_and_schema() -> None:
    plan = _plan()
    data = json.loads(json.dumps(plan.to_dict()))
    assert Plan.from_dict(data).to_dict() == plan.to_dict()
    assert [c.get("cannot_apply") for c in data["changes"]] == [True, None]
    schema = json.loads((SPECS / "plan.schema.json").read_text())
    jsonschema.validate(data, schema)
