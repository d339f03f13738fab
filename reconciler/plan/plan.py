"""Plan: the reviewed, deterministic value that apply executes exactly.

A plan holds its changes in execution order, the addresses of unmanaged live objects (outside
every prune scope), a fingerprint of every live object it touches (``None`` = absent), the digest
of the spec it was made from, and any safety violations. A plan with violations is *refused*:
it is rendered so the user sees which rule and which addresses, but it is never applied.

``digest`` is the sha256 of the canonical JSON of ``to_dict(with_stats=False)``; ``stats``
(request counts, seconds) vary run to run and are therefore outside the digest.
The JSON form is versioned by ``FORMAT`` and documented in ``specs/plan.schema.json``.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from reconciler.address import Address
from reconciler.model.resource import JSON, canonical_json
from reconciler.plan.change import Action, Change

FORMAT = "reconciler.plan/v1"


@dataclass(frozen=True)
class Violation:
    """A safety rule a plan breaks: ``rule`` id, the addresses involved, a human message."""

    rule: str
    addresses: tuple[Address, ...]
    message: str

    def __str__(self) -> str:
        where = ", ".join(str(a) for a in self.addresses)
        return (
            f"[{self.rule}] {where}: {self.message}" if where else f"[{self.rule}] {self.message}"
        )

    def to_dict(self) -> dict[str, JSON]:
        return {
            "rule": self.rule,
            "addresses": [str(a) for a in self.addresses],
            "message": self.message,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Violation:
        return cls(
            data["rule"], tuple(Address.parse(a) for a in data["addresses"]), data["message"]
        )


@dataclass(frozen=True)
class Plan:
    """An ordered set of changes plus everything apply needs to verify it is still valid."""

    spec_path: str
    spec_digest: str
    changes: tuple[Change, ...] = ()
    unmanaged: tuple[Address, ...] = ()
    live_fingerprints: Mapping[str, str | None] = field(default_factory=dict)
    violations: tuple[Violation, ...] = ()
    warnings: tuple[str, ...] = ()
    stats: Mapping[str, JSON] = field(default_factory=dict)

    @property
    def refused(self) -> bool:
        """True when a safety rule refuses the plan."""
        return bool(self.violations)

    @property
    def executable(self) -> tuple[Change, ...]:
        """Changes apply will execute (everything except deferred ones)."""
        return tuple(c for c in self.changes if c.action is not Action.DEFERRED)

    @property
    def empty(self) -> bool:
        """True when there is nothing to execute (deferred changes do not count)."""
        return not self.executable

    def counts(self) -> dict[str, int]:
        """Number of changes per action, every action present (zeros included)."""
        c = Counter(ch.action.value for ch in self.changes)
        return {a.value: c.get(a.value, 0) for a in Action}

    def to_dict(self, with_stats: bool = True) -> dict[str, JSON]:
        """The documented JSON form; ``digest`` is included when ``with_stats`` is true."""
        body: dict[str, JSON] = {
            "format": FORMAT,
            "spec": {"path": self.spec_path, "digest": self.spec_digest},
            "summary": dict(self.counts()),
            "changes": [c.to_dict() for c in self.changes],
            "unmanaged": [str(a) for a in self.unmanaged],
            "live_fingerprints": dict(sorted(self.live_fingerprints.items())),
            "violations": [v.to_dict() for v in self.violations],
            "warnings": list(self.warnings),
        }
        if with_stats:
            body["digest"] = self.digest
            body["stats"] = dict(self.stats)
        return body

    @property
    def digest(self) -> str:
        """sha256 of the canonical JSON of the plan without stats."""
        text = canonical_json(self.to_dict(with_stats=False))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Plan:
        """Parse the JSON form; raises ``ValueError`` on another format or a digest mismatch."""
        if data.get("format") != FORMAT:
            raise ValueError(f"not a {FORMAT} plan (format {data.get('format')!r})")
        plan = cls(
            spec_path=data["spec"]["path"],
            spec_digest=data["spec"]["digest"],
            changes=tuple(Change.from_dict(c) for c in data.get("changes", ())),
            unmanaged=tuple(Address.parse(a) for a in data.get("unmanaged", ())),
            live_fingerprints=dict(data.get("live_fingerprints", {})),
            violations=tuple(Violation.from_dict(v) for v in data.get("violations", ())),
            warnings=tuple(data.get("warnings", ())),
            stats=dict(data.get("stats", {})),
        )
        if "digest" in data and data["digest"] != plan.digest:
            raise ValueError("plan digest does not match its content (the file was edited)")
        return plan
