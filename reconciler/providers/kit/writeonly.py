"""Write-only values: secrets an API accepts but never returns in clear.

Some APIs answer a stored secret with a placeholder (Flagsmith: ``"write-only"``; others mask
with asterisks). A placeholder means "a value is set, its content is unknown": the live
attribute is ``None`` and the engine puts the fingerprint last applied (from the state store) in
its place, so an unchanged secret diffs equal. A placeholder must never be sent back: a client
that reads an object and PUTs it back would store the literal placeholder as the secret. Updates
therefore PATCH and carry a write-only field only when the plan changes it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

from reconciler.model.resource import JSON, Resource
from reconciler.plan.change import Action, Change
from reconciler.state.store import StateStore, recreated

PLACEHOLDERS = frozenset({"write-only", "********", "***"})


def is_placeholder(value: object) -> bool:
    """True for a masked answer (``"write-only"``, ``"********"``)."""
    return isinstance(value, str) and value in PLACEHOLDERS


def unknown_if_masked(value: JSON) -> JSON:
    """A live value as the diff must see it: ``None`` ("present, unknown") for a placeholder."""
    return None if is_placeholder(value) else value


def changed(change: Change, name: str) -> bool:
    """Whether ``change`` must send write-only attribute ``name`` (a create, or a diff on it)."""
    if change.action is Action.CREATE:
        return True
    return any(d.path == name for d in change.diffs)


def secret_fields(change: Change, names: Iterable[str]) -> dict[str, str]:
    """Plaintext of the write-only attributes ``change`` must send, by attribute name.

    Only attributes that are created or changed are included; an unchanged secret is omitted,
    so the server keeps what it has. The plaintext comes from the desired resource's secrets
    (never from a live answer, which holds at most a placeholder).
    """
    desired = change.desired
    if desired is None:
        return {}
    out: dict[str, str] = {}
    for name in names:
        secret = desired.secrets.get(name)
        if secret is not None and changed(change, name):
            out[name] = secret.reveal()
    return out


def without_placeholders(body: Mapping[str, Any]) -> dict[str, Any]:
    """``body`` without any field whose value is a placeholder (a last guard before sending)."""
    return {k: v for k, v in body.items() if not is_placeholder(v)}


def unreadable_details(change: Change) -> dict[str, JSON]:
    """Plan detail lines for the write-only attributes of an update or create: each says the
    value cannot be read and how what was last applied compares with the spec (``matches
    spec``, ``differs``, or ``unknown`` when nothing was applied from here, e.g. an object made
    out of band). Drift reports show them instead of a bare ``(sensitive)`` change, so an
    attribute nobody can read is never mistaken for one that was changed live."""
    desired, live = change.desired, change.live
    if desired is None:
        return {}
    out: dict[str, JSON] = {}
    for name in sorted(desired.sensitive):
        if change.action is Action.CREATE or live is None:
            continue
        applied = live.attributes.get(name)
        if applied is None:
            state = "unknown (never applied from here)"
        elif applied == desired.attributes.get(name):
            state = "matches spec"
        else:
            state = "differs from spec"
        out[name] = f"cannot be read (last applied: {state})"
    return out


def adopt_unknown(
    resource: Resource, desired: Resource | None, store: StateStore
) -> tuple[Resource, tuple[str, ...]]:
    """Adopt the spec's value for write-only attributes nobody applied from here.

    A live write-only attribute that is unknown (``None``: masked) while the state store holds
    no fingerprint for it (an object made elsewhere, a first run after export) cannot be
    verified, and sending the spec's value every run would not verify it either. Each such
    attribute the desired resource fingerprints takes that fingerprint, recorded in ``store``,
    so it is reported once ("cannot verify") and compared from then on: a later change of the
    spec's value is an update. Returns the resource as the diff must see it and the names
    adopted. Nothing is adopted when the store remembers another server id for the address
    (the object was recreated: its value is unknown and must be sent again)."""
    if desired is None or recreated(resource, store):
        return resource, ()
    adopted: list[str] = []
    attributes: dict[str, JSON] = dict(resource.attributes)
    for name in sorted(resource.sensitive & desired.sensitive):
        wanted = desired.attributes.get(name)
        if attributes.get(name) is not None or not isinstance(wanted, str):
            continue
        if store.get_fingerprint(resource.address, name) is not None:
            continue
        store.set_fingerprint(resource.address, name, wanted)
        attributes[name] = wanted
        adopted.append(name)
    if not adopted:
        return resource, ()
    return dataclasses.replace(resource, attributes=attributes), tuple(adopted)
