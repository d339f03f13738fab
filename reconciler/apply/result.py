"""ApplyResult: what happened to every change of an applied plan.

Each change of the plan gets exactly one ``ChangeResult`` (in plan order) with a ``Status``:

* ``applied``  the provider executed it;
* ``failed``   the provider (or recording its outcome) raised; ``message`` says why;
* ``skipped``  not attempted because a change it depends on failed (or was skipped);
* ``deferred`` not attempted because the plan defers it (pending object).

Messages are one line, never a traceback, never a secret. A plan over several providers is
reported per provider too (``by_provider``, ``provider_lines``, ``providers`` in ``to_dict``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from reconciler.address import Address
from reconciler.model.resource import JSON
from reconciler.plan.change import Action, Change


class Status(StrEnum):
    """Outcome of one change."""

    APPLIED = "applied"
    SKIPPED = "skipped"
    FAILED = "failed"
    DEFERRED = "deferred"


@dataclass(frozen=True)
class ChangeResult:
    """One change's outcome. ``duration`` is seconds spent in the provider (0 if not run);
    ``pending`` is set when applying left the object pending (an invite was sent)."""

    address: Address
    action: Action
    status: Status
    message: str | None = None
    duration: float = 0.0
    server_id: str | None = None
    pending: str | None = None

    def line(self) -> str:
        """``<status> <address> (<seconds>s)[: message]``: the plain progress/report line."""
        text = f"{self.status.value} {self.address}"
        if self.status is Status.APPLIED or self.status is Status.FAILED:
            text += f" ({self.duration:.2f}s)"
        if self.message:
            text += f": {self.message}"
        return text

    def to_dict(self) -> dict[str, JSON]:
        return {
            "address": str(self.address),
            "action": self.action.value,
            "status": self.status.value,
            "message": self.message,
            "duration": round(self.duration, 3),
            "pending": self.pending,
        }


@dataclass(frozen=True)
class Event:
    """Progress of an apply: ``started`` before a change runs, ``finished`` with its result
    (every change gets a ``finished`` event, including skipped and deferred ones)."""

    kind: Literal["started", "finished"]
    change: Change
    result: ChangeResult | None = None


@dataclass(frozen=True)
class ApplyResult:
    """Results of every change, in plan order, plus the wall time of the whole apply."""

    results: tuple[ChangeResult, ...]
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """True when nothing failed or was skipped (deferred changes are expected)."""
        return all(r.status in (Status.APPLIED, Status.DEFERRED) for r in self.results)

    def counts(self) -> dict[str, int]:
        """Number of changes per status, every status present."""
        out = {s.value: 0 for s in Status}
        for r in self.results:
            out[r.status.value] += 1
        return out

    def of_status(self, status: Status) -> list[ChangeResult]:
        return [r for r in self.results if r.status is status]

    def by_provider(self) -> dict[str, dict[str, int]]:
        """Number of changes per status (zeros included) for each provider, names sorted."""
        out: dict[str, dict[str, int]] = {}
        for r in self.results:
            counts = out.setdefault(r.address.provider, {s.value: 0 for s in Status})
            counts[r.status.value] += 1
        return dict(sorted(out.items()))

    def provider_lines(self) -> list[str]:
        """``phase: 5 applied, 1 skipped, 1 failed, 0 deferred`` per provider, when the apply
        spans several providers (a single provider's line would repeat the summary)."""
        groups = self.by_provider()
        if len(groups) < 2:
            return []
        return [
            f"{name}: " + ", ".join(f"{c[s.value]} {s.value}" for s in Status)
            for name, c in groups.items()
        ]

    def to_dict(self) -> dict[str, JSON]:
        providers: dict[str, JSON] = {n: dict(c) for n, c in self.by_provider().items()}
        return {
            "ok": self.ok,
            "summary": dict(self.counts()),
            "providers": providers,
            "seconds": round(self.seconds, 3),
            "results": [r.to_dict() for r in self.results],
        }
