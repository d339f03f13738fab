"""Executor: a change the system cannot apply (``Change.cannot_apply``) is reported deferred and
never executed, while the changes that depend on its object (which exists) run."""

from __future__ import annotations

import dataclasses

from test_apply_executor import FakeProvider, change, plan_of, store

from reconciler.apply.executor import execute
from reconciler.apply.result import Status
from reconciler.plan.change import Action
from reconciler.state.sqlite import SQLiteStateStore

__all__ = ["store"]  # the fixture, shared with the executor's own tests


def test_dependents_of_a_change_that_cannot_be_applied_run(store: SQLiteStateStore) -> None:
    provider = FakeProvider()
    edited = dataclasses.replace(
        change("parent", action=Action.DEFERRED, reason="no update: edit it there"),
        cannot_apply=True,
    )
    plan = plan_of(edited, change("child", "parent"))
    result = execute(plan, {"fake": provider}, store)
    status = {r.address.name: (r.status, r.message) for r in result.results}
    assert status["parent"] == (Status.DEFERRED, "no update: edit it there")
    assert status["child"] == (Status.APPLIED, None)
    assert provider.calls == ["child"] and result.ok
