"""The exception tree. Every message names a spec location or an address; none holds a secret.

::

    ReconcilerError                 base; ``str(exc)`` is the one-line user message
    ├── SpecError                   ``file:line:col: message`` (loader, schema, references, secrets)
    │   └── SpecErrors              several SpecErrors reported together
    ├── PlanError                   ``address: message`` raised while building a plan
    │   ├── CycleError              dependency cycle; names every address in it
    │   └── PlanRefused             a safety rule refused the plan (rule + addresses)
    ├── ApplyError                  ``address: message`` raised while applying a change
    │   ├── StalePlanError          a saved plan no longer matches live state (carries the new diff)
    │   └── LockedError             another apply holds the organisation's lock
    ├── ProviderError               ``address: message`` from a provider (HTTP status, API text)
    │   └── TransportError          the target could not be reached after retries
    └── StateError                  the state store is unusable

The CLI catches ``ReconcilerError`` and prints ``str(exc)``; anything else is a bug.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Location:
    """A position in a spec file (1-based line and column)."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


class ReconcilerError(Exception):
    """Base of every error the tool reports to users."""


class SpecError(ReconcilerError):
    """An error in the spec, reported as ``file:line:col: message``."""

    def __init__(self, message: str, location: Location | None = None) -> None:
        self.message = message
        self.location = location
        super().__init__(f"{location}: {message}" if location else message)


class SpecErrors(SpecError):
    """Several spec errors found in one pass; ``str`` prints one per line, sorted by location."""

    def __init__(self, errors: Sequence[SpecError]) -> None:
        def key(e: SpecError) -> tuple[str, int, int]:
            loc = e.location
            return (loc.file, loc.line, loc.column) if loc else ("", 0, 0)

        self.errors = sorted(errors, key=key)
        ReconcilerError.__init__(self, "\n".join(str(e) for e in self.errors))
        self.message = str(self)
        self.location = self.errors[0].location if self.errors else None


class AddressedError(ReconcilerError):
    """An error about one object, printed as ``address: message``."""

    def __init__(self, address: object, message: str) -> None:
        self.address = address
        self.message = message
        super().__init__(f"{address}: {message}" if address is not None else message)


class PlanError(AddressedError):
    """A plan could not be built."""


class CycleError(PlanError):
    """Dependencies form a cycle; ``addresses`` lists every member, sorted."""

    def __init__(self, addresses: Iterable[object]) -> None:
        self.addresses = sorted(str(a) for a in addresses)
        super().__init__(
            self.addresses[0] if self.addresses else None,
            "dependency cycle: " + " -> ".join(self.addresses),
        )


class PlanRefused(PlanError):
    """A safety rule refused the plan. ``violations`` holds (rule, addresses, message) triples."""

    def __init__(self, violations: Sequence[Any]) -> None:
        self.violations = list(violations)
        super().__init__(None, "plan refused:\n" + "\n".join(f"  {v}" for v in self.violations))


class ApplyError(AddressedError):
    """A change could not be applied."""


class StalePlanError(ApplyError):
    """A saved plan is stale: live objects it touches changed since it was made.

    ``replan`` is the fresh plan (a ``reconciler.plan.plan.Plan``) so the CLI can show the new diff.
    """

    def __init__(self, addresses: Sequence[object], replan: Any = None) -> None:
        self.addresses = sorted(str(a) for a in addresses)
        self.replan = replan
        super().__init__(
            None,
            "saved plan is stale; live state changed for: " + ", ".join(self.addresses),
        )


class LockedError(ApplyError):
    """Another apply holds the lock for this organisation."""


class ProviderError(AddressedError):
    """A provider call failed. ``status`` is the HTTP status when there was one."""

    def __init__(self, address: object, message: str, status: int | None = None) -> None:
        self.status = status
        super().__init__(address, message)


class TransportError(ProviderError):
    """The target was unreachable after all retries."""


class StateError(ReconcilerError):
    """The state store cannot be opened or is corrupt."""
