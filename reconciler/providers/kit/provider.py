"""The parts of a provider that only hand over: ``refine`` and ``check`` to its pure rules
module, ``apply`` to its actions, ``stats`` and ``close`` to its client's ``HttpClient``, and
the narrowing of a full read to the kinds of a saved plan's objects (``of_kinds``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, Generic, Protocol, TypeVar

from reconciler.address import Address
from reconciler.model.resource import JSON
from reconciler.model.state import State
from reconciler.plan.change import Change
from reconciler.plan.plan import Violation
from reconciler.providers.base import Outcome
from reconciler.providers.kit.http import HttpClient


class Rules(Protocol):
    """A provider's pure rules module (``rules.py``)."""

    def refine(self, changes: Sequence[Change], desired: State, live: State) -> list[Change]: ...

    def check(self, changes: Sequence[Change], desired: State, live: State) -> list[Violation]: ...


class Actions(Protocol):
    def apply(self, change: Change) -> Outcome: ...


class HasHttp(Protocol):
    """A provider's API client, built on the kit's ``HttpClient``."""

    http: HttpClient


C = TypeVar("C", bound=HasHttp)
A = TypeVar("A", bound=Actions)


class Delegating(Generic[C, A]):
    """Mixin for a provider class that sets ``rules`` (its rules module) and, per instance,
    ``client`` and ``actions``."""

    rules: ClassVar[Rules]
    client: C
    actions: A

    def refine(self, changes: Sequence[Change], desired: State, live: State) -> list[Change]:
        return self.rules.refine(changes, desired, live)

    def check(self, changes: Sequence[Change], desired: State, live: State) -> list[Violation]:
        return self.rules.check(changes, desired, live)

    def apply(self, change: Change) -> Outcome:
        return self.actions.apply(change)

    def stats(self) -> dict[str, JSON]:
        """Requests, retries and 429s waited out, with requests by route (``kit.http``)."""
        return dict(self.client.http.stats())

    def close(self) -> None:
        self.client.http.close()


def of_kinds(state: State, only: frozenset[Address] | None) -> State:
    """``state`` itself without ``only``, else its resources of the kinds ``only`` names (the
    context kept)."""
    if only is None:
        return state
    kinds = {a.kind for a in only}
    return State((r for r in state.resources() if r.address.kind in kinds), state.context)
