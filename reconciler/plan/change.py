"""Change: one step of a plan, with field-level before/after.

Actions:

* ``create``  desired object absent from live.
* ``update``  desired and live differ in at least one desired attribute.
* ``delete``  live object absent from desired, inside a prune scope and not protected.
* ``deferred`` the change cannot be made yet (the object or something it depends on is
  pending: an invite not accepted, a member without identity key). Never executed; shown so a
  later run is expected to complete it. With ``cannot_apply`` it is instead a difference the
  system offers no way to apply (a field of a create-only API): never executed, but drift.

A ``FieldDiff`` with ``sensitive=True`` carries fingerprints (or ``None``), never plaintext, and is
rendered as ``(sensitive)``.

A delete's ``Cascade`` (set by its provider's ``refine``) is what the server removes with it:
the live objects (counted by the delete limits) and, for review, what goes with it by noun.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from reconciler.address import Address
from reconciler.model.resource import JSON, Resource


class Action(StrEnum):
    """What a change does to its object."""

    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    DEFERRED = "deferred"


@dataclass(frozen=True)
class FieldDiff:
    """One attribute's before (live) and after (desired) value; ``path`` is the attribute name."""

    path: str
    before: JSON
    after: JSON
    sensitive: bool = False

    def to_dict(self) -> dict[str, JSON]:
        """JSON form; sensitive values are replaced by ``(sensitive)`` (or ``None`` if unknown)."""
        mask = "(sensitive)"
        return {
            "path": self.path,
            "before": (mask if self.before is not None else None)
            if self.sensitive
            else self.before,
            "after": (mask if self.after is not None else None) if self.sensitive else self.after,
            "sensitive": self.sensitive,
        }


@dataclass(frozen=True)
class Cascade:
    """What a delete takes with it on the server (its blast radius); never secret.

    ``objects``: live objects of the same provider the server deletes with it. They count
    toward ``max_deletes`` and ``max_delete_share`` once each, also when the plan deletes one of
    them by a change of its own.
    ``counts``: what goes with it, by plural noun in display order -> how many, ``None`` when
    all of them go but the read does not know how many (e.g. ``{"environments": 3, "secrets":
    None, "member grants": 2}``). Counts are shown, not limited: they include things that are
    not live objects of the plan (secrets, grants).
    """

    objects: tuple[Address, ...] = ()
    counts: Mapping[str, int | None] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.objects or self.counts)

    def to_dict(self) -> dict[str, JSON]:
        """JSON form: ``objects`` sorted, ``counts`` in display order."""
        return {
            "objects": [str(a) for a in sorted(self.objects)],
            "counts": dict(self.counts),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Cascade:
        """Inverse of ``to_dict``."""
        return cls(
            objects=tuple(Address.parse(a) for a in data.get("objects", ())),
            counts=dict(data.get("counts", {})),
        )


@dataclass(frozen=True)
class Change:
    """One planned step.

    ``desired`` is ``None`` for deletes, ``live`` is ``None`` for creates. ``depends_on`` lists
    addresses of other changes in the same plan that must succeed first (computed by the order
    step from resource dependencies, plus edges a provider adds in ``refine``). ``reason`` explains
    a deferred change. ``warnings`` are shown with the change but do not block it. ``details`` is
    provider-supplied, non-secret, display-only context (e.g. E2EE recipient key fingerprints).
    ``cascade`` is what a delete takes with it on the server (see ``Cascade``).
    """

    action: Action
    address: Address
    desired: Resource | None = None
    live: Resource | None = None
    diffs: tuple[FieldDiff, ...] = ()
    depends_on: tuple[Address, ...] = ()
    reason: str | None = None
    warnings: tuple[str, ...] = ()
    details: Mapping[str, JSON] = field(default_factory=dict)
    cascade: Cascade = field(default_factory=Cascade)
    cannot_apply: bool = False
    """A deferred change the system cannot apply over its API (no update, no delete): shown
    with its diffs and ``reason`` (where to change it instead), graded as drift, never executed,
    and it does not hold back the changes that depend on its object (the object exists)."""

    @property
    def resource(self) -> Resource:
        """The desired resource, or the live one for a delete."""
        r = self.desired if self.desired is not None else self.live
        assert r is not None, "a change has a desired or a live resource"
        return r

    def to_dict(self) -> dict[str, JSON]:
        """Canonical JSON form (part of the plan digest)."""
        out: dict[str, JSON] = {
            "action": self.action.value,
            "address": str(self.address),
            "diffs": [d.to_dict() for d in self.diffs],
            "depends_on": [str(a) for a in self.depends_on],
        }
        if self.desired is not None:
            out["desired"] = self.desired.to_dict()
        if self.live is not None:
            out["live"] = self.live.to_dict()
        if self.reason is not None:
            out["reason"] = self.reason
        if self.warnings:
            out["warnings"] = list(self.warnings)
        if self.details:
            out["details"] = dict(self.details)
        if self.cascade:
            out["cascade"] = self.cascade.to_dict()
        if self.cannot_apply:
            out["cannot_apply"] = True
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Change:
        """Inverse of ``to_dict``: ``Change.from_dict(c.to_dict()).to_dict() == c.to_dict()``.

        Sensitive values come back as the mask; secrets are re-attached from the spec when a
        saved plan is applied."""
        return cls(
            action=Action(data["action"]),
            address=Address.parse(data["address"]),
            desired=Resource.from_dict(data["desired"]) if "desired" in data else None,
            live=Resource.from_dict(data["live"]) if "live" in data else None,
            diffs=tuple(
                FieldDiff(d["path"], d.get("before"), d.get("after"), bool(d.get("sensitive")))
                for d in data.get("diffs", ())
            ),
            depends_on=tuple(Address.parse(a) for a in data.get("depends_on", ())),
            reason=data.get("reason"),
            warnings=tuple(data.get("warnings", ())),
            details=dict(data.get("details", {})),
            cascade=Cascade.from_dict(data["cascade"]) if "cascade" in data else Cascade(),
            cannot_apply=bool(data.get("cannot_apply", False)),
        )
