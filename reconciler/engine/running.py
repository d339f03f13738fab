"""Applying a plan under the apply locks of its targets, and grading drift.

Every provider manages one target (one organisation of one system) and every target has its own
apply lock in the state store. An apply takes the lock of each target its plan changes, and
only those: a run that changes only ``memory`` never waits for a ``phase`` apply.
"""

from __future__ import annotations

import contextlib
import datetime
import getpass
import os
import socket
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING

from reconciler.apply.executor import execute
from reconciler.apply.result import ApplyResult, Event
from reconciler.engine.reading import make_plan
from reconciler.engine.saved import verify_saved_plan
from reconciler.errors import ApplyError, PlanRefused
from reconciler.plan.plan import Plan
from reconciler.providers.base import Provider
from reconciler.spec.spec import Spec
from reconciler.state.store import StateStore

if TYPE_CHECKING:
    from reconciler.plan.drift import DriftReport


def default_holder() -> str:
    """``user@host``: who holds an apply lock, as shown to a blocked run."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = f"uid{os.getuid()}"
    return f"{user}@{socket.gethostname()}"


def plan_targets(plan: Plan, providers: Mapping[str, Provider]) -> dict[str, str]:
    """Provider name -> target, for every provider the plan changes (deferred changes aside).

    Raises ``ApplyError`` when the plan names a provider that is not open.
    """
    names = sorted({c.address.provider for c in plan.executable})
    missing = [n for n in names if n not in providers]
    if missing:
        raise ApplyError(None, f"plan changes providers not in the spec: {', '.join(missing)}")
    return {n: providers[n].target() for n in names}


@contextlib.contextmanager
def hold_locks(
    plan: Plan, providers: Mapping[str, Provider], store: StateStore, holder: str | None = None
) -> Iterator[dict[str, str]]:
    """Hold the apply lock of every target the plan changes, for the ``with`` block; yields the
    targets by provider name.

    Raises ``PlanRefused`` for a refused plan, ``ApplyError`` when the plan names a provider
    that is not open, ``LockedError`` (naming the target) when another apply holds one. All the
    locks or none: a reviewed plan is applied as a whole or not started, so a busy target makes
    the user re-run later rather than leaving half of a reviewed plan applied.
    """
    if plan.refused:
        raise PlanRefused(plan.violations)
    targets = plan_targets(plan, providers)
    with contextlib.ExitStack() as stack:
        # Sorted so two applies over overlapping targets take their locks in the same order.
        for target in sorted(set(targets.values())):
            stack.enter_context(store.lock(target, holder or default_holder()))
        yield targets


def apply(
    plan: Plan,
    providers: Mapping[str, Provider],
    store: StateStore,
    *,
    concurrency: int = 4,
    on_event: Callable[[Event], None] | None = None,
    holder: str | None = None,
) -> ApplyResult:
    """Execute a plan under the apply lock of every target it changes (see ``hold_locks``).

    A change's failure does not raise: it is in the result, and it stops only the changes
    that depend on it (changes of other providers never do).
    """
    with hold_locks(plan, providers, store, holder):
        return execute(plan, providers, store, concurrency=concurrency, on_event=on_event)


def apply_saved(
    plan: Plan,
    spec: Spec,
    providers: Mapping[str, Provider],
    store: StateStore,
    *,
    concurrency: int = 4,
    on_event: Callable[[Event], None] | None = None,
    holder: str | None = None,
    allow_deletes: bool = False,
) -> ApplyResult:
    """Apply a reviewed plan: take the locks, verify it (``verify_saved_plan``) while holding
    them, so nothing can change between the check and the execution, then execute it."""
    with hold_locks(plan, providers, store, holder):
        verified = verify_saved_plan(plan, spec, providers, store, allow_deletes=allow_deletes)
        return execute(verified, providers, store, concurrency=concurrency, on_event=on_event)


def drift(
    spec: Spec, providers: Mapping[str, Provider], store: StateStore
) -> tuple[Plan, DriftReport]:
    """A drift report graded from a fresh plan (and the plan itself)."""
    from reconciler.plan import drift as drift_report

    plan = make_plan(spec, providers, store)
    now = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    return plan, drift_report.from_plan(plan, generated_at=now)
