"""State: an immutable set of Resources keyed by Address (desired or live), plus the context
its providers read with it."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from reconciler.address import Address
from reconciler.model.resource import JSON, Resource


class State(Mapping[Address, Resource]):
    """Resources by address. Iteration is in address order, so every consumer is deterministic.

    ``context`` holds, per provider name, JSON facts a provider learnt while reading that are
    not objects (who the token is, which roles have global access, ...); a provider's planning
    rules read them from the live state instead of from the provider. It is carried through
    ``of_provider`` and ``merge`` but is not part of the mapping: it is never diffed, rendered
    or fingerprinted, and two states with the same resources are equal whatever their context.
    """

    __slots__ = ("_context", "_items")

    def __init__(
        self, resources: Iterable[Resource] = (), context: Mapping[str, JSON] | None = None
    ) -> None:
        items: dict[Address, Resource] = {}
        for r in resources:
            if r.address in items:
                raise ValueError(f"{r.address}: declared twice")
            items[r.address] = r
        # Sorted by a tuple key: C comparisons, not N log N calls of Address.__lt__ (large plans).
        self._items = dict(sorted(items.items(), key=_address_order))
        self._context: dict[str, JSON] = dict(context or {})

    def __getitem__(self, address: Address) -> Resource:
        return self._items[address]

    def __iter__(self) -> Iterator[Address]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"State({len(self)} resources)"

    @property
    def context(self) -> Mapping[str, JSON]:
        """Provider name -> what that provider learnt while reading (see the class docstring)."""
        return self._context

    def with_context(self, provider: str, value: JSON) -> State:
        """The same resources with ``provider``'s context set to ``value``."""
        return State(self._items.values(), {**self._context, provider: value})

    def resources(self) -> Iterator[Resource]:
        """Resources in address order."""
        return iter(self._items.values())

    def of_provider(self, provider: str) -> State:
        """The subset managed by one provider (with that provider's context)."""
        context = {provider: self._context[provider]} if provider in self._context else {}
        return State((r for r in self._items.values() if r.address.provider == provider), context)

    def of_kind(self, provider: str, kind: str) -> list[Resource]:
        """Resources of one kind, in address order."""
        return [r for a, r in self._items.items() if a.provider == provider and a.kind == kind]

    def merge(self, other: State) -> State:
        """Union of two disjoint states (contexts too); an address, or a provider's context, in
        both is an error."""
        both = self._context.keys() & other.context.keys()
        if both:
            raise ValueError(f"context of {', '.join(sorted(both))} given twice")
        return State(
            [*self._items.values(), *other.resources()], {**self._context, **other.context}
        )


def _address_order(item: tuple[Address, Resource]) -> tuple[str, str, str]:
    address = item[0]
    return (address.provider, address.kind, address.name)
