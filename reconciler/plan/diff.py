"""diff: desired and live States -> unordered changes with field-level before/after (pure).

Contract of ``diff``:

* A desired object absent from live is a ``create``; present in both, it is an ``update`` when
  at least one *desired* attribute differs (attributes the spec does not set are not managed).
  Both sides are already normalised by their provider, so a converged system diffs empty.
* A desired object whose live copy is *pending* (an invite not accepted) gets a change even
  when nothing differs, so plans and drift reports show what waits; the build step defers it.
* A live object absent from desired is a ``delete`` when its (provider, kind) is a prune scope
  and it is not protected; otherwise it is reported as unmanaged.
* A protected object that the spec would change is reported in ``protected`` (the plan is
  refused for it); it is never deleted.
* Write-only (sensitive) attributes hold fingerprints on both sides and are compared as such;
  their ``FieldDiff`` is marked sensitive so it renders as ``(sensitive)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from reconciler.address import Address
from reconciler.model.resource import JSON, Resource
from reconciler.model.state import State
from reconciler.plan.change import Action, Change, FieldDiff
from reconciler.plan.policy import Policy


@dataclass(frozen=True)
class Diff:
    """The raw result of a diff, before ordering, deferral and safety checks."""

    changes: tuple[Change, ...]
    unmanaged: tuple[Address, ...]
    protected: tuple[Address, ...]


def field_diffs(desired: Resource, live: Resource) -> tuple[FieldDiff, ...]:
    """Differences in the attributes the desired resource sets, in attribute-name order.

    Nested mappings are compared key by key (``access.payments``) so a reviewer sees which
    entry changed; sensitive attributes are compared whole and never expanded.
    """
    out: list[FieldDiff] = []
    for name in sorted(desired.attributes):
        after = desired.attributes[name]
        before = live.attributes.get(name)
        sensitive = name in desired.sensitive or name in live.sensitive
        if sensitive:
            if before != after:
                out.append(FieldDiff(name, before, after, sensitive=True))
        else:
            out.extend(_value_diffs(name, before, after))
    return tuple(out)


def _value_diffs(path: str, before: JSON, after: JSON) -> list[FieldDiff]:
    if before == after:
        return []
    if isinstance(before, Mapping) and isinstance(after, Mapping):
        out: list[FieldDiff] = []
        for key in sorted(set(before) | set(after)):
            out.extend(_value_diffs(f"{path}.{key}", before.get(key), after.get(key)))
        return out
    return [FieldDiff(path, before, after)]


def diff(desired: State, live: State, policy: Policy) -> Diff:
    """Compare desired with live under ``policy`` (see the module docstring)."""
    changes: list[Change] = []
    protected: list[Address] = []
    for address, want in desired.items():
        have = live.get(address)
        if have is None:
            changes.append(Change(Action.CREATE, address, desired=want))
            continue
        diffs = field_diffs(want, have)
        if diffs and address in policy.protect:
            protected.append(address)
        if diffs or have.pending is not None:
            changes.append(Change(Action.UPDATE, address, desired=want, live=have, diffs=diffs))
    unmanaged: list[Address] = []
    for address, have in live.items():
        if address in desired:
            continue
        scope = (address.provider, address.kind)
        if scope in policy.prune and address not in policy.protect:
            changes.append(Change(Action.DELETE, address, live=have))
        else:
            unmanaged.append(address)
    return Diff(tuple(changes), tuple(unmanaged), tuple(protected))
