"""State: an immutable set of Resources keyed by Address (desired or live)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from reconciler.address import Address
from reconciler.model.resource import Resource


class State(Mapping[Address, Resource]):
    """Resources by address. Iteration is in address order, so every consumer is deterministic."""

    __slots__ = ("_items",)

    def __init__(self, resources: Iterable[Resource] = ()) -> None:
        items: dict[Address, Resource] = {}
        for r in resources:
            if r.address in items:
                raise ValueError(f"{r.address}: declared twice")
            items[r.address] = r
        self._items = dict(sorted(items.items()))

    def __getitem__(self, address: Address) -> Resource:
        return self._items[address]

    def __iter__(self) -> Iterator[Address]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"State({len(self)} resources)"

    def resources(self) -> Iterator[Resource]:
        """Resources in address order."""
        return iter(self._items.values())

    def of_provider(self, provider: str) -> State:
        """The subset managed by one provider."""
        return State(r for r in self._items.values() if r.address.provider == provider)

    def of_kind(self, provider: str, kind: str) -> list[Resource]:
        """Resources of one kind, in address order."""
        return [r for a, r in self._items.items() if a.provider == provider and a.kind == kind]

    def merge(self, other: State) -> State:
        """Union of two disjoint states; an address in both is an error."""
        return State([*self._items.values(), *other.resources()])
