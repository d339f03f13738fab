"""build_plan: desired + live + policy (+ provider hooks) -> Plan (pure, deterministic).

Steps, each pure:

1. ``diff`` -> raw changes, unmanaged addresses, protected objects the spec would change;
2. each provider's ``refine`` (in provider-name order) adds ordering edges, warnings and
   details to its own changes;
3. ``order`` -> execution order with ``depends_on`` filled in (``CycleError`` on a cycle);
4. deferral: a change is *deferred* when its live object is pending, when it depends on an
   object that is pending (live, or created by this plan as a kind the provider marks
   ``pending_on_create``, e.g. an invite), or when a change it depends on is deferred. Deleting
   a pending object (cancelling an invite) is never deferred;
5. safety: protect, delete limits, and each provider's ``check``;
6. ``live_fingerprints`` of every object an executable change touches (``None`` = absent), so
   apply can prove a saved plan is still valid.

The plan's ``warnings`` are those of its changes plus, for a provider whose live context is a
mapping with a ``"warnings"`` list, those texts: what a provider could not see while reading
(e.g. a credential that cannot list objects) is said once, even when nothing changes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Protocol

from reconciler.address import Address
from reconciler.model.resource import JSON
from reconciler.model.state import State
from reconciler.plan.change import Action, Change
from reconciler.plan.diff import diff
from reconciler.plan.order import order
from reconciler.plan.plan import Plan, Violation
from reconciler.plan.policy import Policy
from reconciler.plan.safety import delete_violations, protect_violations


class PendingKinds(Protocol):
    """What the planner needs of a provider's capabilities."""

    @property
    def pending_on_create(self) -> frozenset[str]: ...


class PlanHooks(Protocol):
    """The part of a provider the planner calls (a connected ``Provider`` satisfies it)."""

    @property
    def capabilities(self) -> PendingKinds: ...

    def refine(self, changes: Sequence[Change], desired: State, live: State) -> list[Change]: ...

    def check(self, changes: Sequence[Change], desired: State, live: State) -> list[Violation]: ...


def build_plan(
    desired: State,
    live: State,
    policy: Policy,
    *,
    spec_path: str,
    spec_digest: str,
    hooks: Mapping[str, PlanHooks] | None = None,
    stats: Mapping[str, JSON] | None = None,
) -> Plan:
    """The plan that makes ``live`` match ``desired`` (see the module docstring)."""
    hooks = hooks or {}
    raw = diff(desired, live, policy)
    changes = list(raw.changes)
    for name in sorted(hooks):
        own = [c for c in changes if c.address.provider == name]
        # called with no changes too: a provider may add notes (deferred changes without a
        # desired object) about live objects it must leave alone, e.g. undeletable ones
        refined = hooks[name].refine(own, desired.of_provider(name), live.of_provider(name))
        changes = [c for c in changes if c.address.provider != name] + list(refined)
    ordered = _defer(order(changes), live, hooks)

    violations = protect_violations(raw.protected)
    violations += delete_violations(ordered, len(live), policy.limits)
    for name in sorted(hooks):
        own = [c for c in ordered if c.address.provider == name]
        violations += hooks[name].check(own, desired.of_provider(name), live.of_provider(name))

    fingerprints: dict[str, str | None] = {}
    for change in ordered:
        if change.action is not Action.DEFERRED:
            fingerprints[str(change.address)] = (
                change.live.fingerprint() if change.live is not None else None
            )
    return Plan(
        spec_path=spec_path,
        spec_digest=spec_digest,
        changes=ordered,
        unmanaged=tuple(sorted(set(raw.unmanaged) - {c.address for c in ordered})),
        live_fingerprints=fingerprints,
        violations=tuple(violations),
        warnings=tuple(sorted({w for c in ordered for w in c.warnings} | _read_warnings(live))),
        stats=dict(stats or {}),
    )


def _defer(
    changes: Sequence[Change], live: State, hooks: Mapping[str, PlanHooks]
) -> tuple[Change, ...]:
    """Mark deferred changes (step 4); ``changes`` are in execution order."""
    pending: dict[Address, str] = {a: r.pending for a, r in live.items() if r.pending is not None}
    for change in changes:
        hook = hooks.get(change.address.provider)
        kinds = hook.capabilities.pending_on_create if hook is not None else frozenset()
        if change.action is Action.CREATE and change.address.kind in kinds:
            pending[change.address] = "pending once created (e.g. an invite to accept)"
    deferred: set[Address] = set()
    out: list[Change] = []
    for change in changes:
        reason = _reason(change, pending, deferred)
        if reason is None:
            out.append(change)
            continue
        if not change.cannot_apply:
            deferred.add(change.address)
        out.append(dataclasses.replace(change, action=Action.DEFERRED, reason=reason))
    return tuple(out)


def _reason(change: Change, pending: Mapping[Address, str], deferred: set[Address]) -> str | None:
    if change.action is Action.DELETE:
        return None
    if change.live is not None and change.live.pending is not None:
        return change.live.pending
    if change.desired is not None:
        for address in sorted(change.desired.depends_on):
            if address in pending and address != change.address:
                return f"waits for {address}: {pending[address]}"
    for address in change.depends_on:
        if address in deferred:
            return f"waits for {address} (deferred)"
    return None


def _read_warnings(live: State) -> set[str]:
    """Plan-level warnings providers left in the live context (see the module docstring)."""
    out: set[str] = set()
    for value in live.context.values():
        found = value.get("warnings") if isinstance(value, Mapping) else None
        if isinstance(found, list | tuple):
            out.update(w for w in found if isinstance(w, str))
    return out
