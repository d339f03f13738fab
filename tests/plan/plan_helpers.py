"""Builders for plan tests: resources and states from short literals."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from reconciler.address import Address
from reconciler.model.resource import JSON, Resource
from reconciler.model.state import State
from reconciler.plan.change import Change
from reconciler.plan.plan import Violation


def a(text: str) -> Address:
    return Address.parse(text)


def res(
    address: str,
    deps: Iterable[str] = (),
    pending: str | None = None,
    sensitive: Iterable[str] = (),
    **attributes: JSON,
) -> Resource:
    return Resource(
        a(address),
        dict(attributes),
        sensitive=frozenset(sensitive),
        depends_on=frozenset(a(d) for d in deps),
        pending=pending,
    )


def state(*resources: Resource) -> State:
    return State(resources)


@dataclass(frozen=True)
class Caps:
    pending_on_create: frozenset[str] = frozenset()


@dataclass
class Hooks:
    """A provider's planning hooks, recording what the planner passed them."""

    capabilities: Caps = field(default_factory=Caps)
    extra_edges: dict[str, Sequence[str]] = field(default_factory=dict)
    violations: list[Violation] = field(default_factory=list)
    seen: list[list[str]] = field(default_factory=list)

    def refine(self, changes: Sequence[Change], desired: State, live: State) -> list[Change]:
        import dataclasses

        out = []
        for c in changes:
            extra = tuple(a(x) for x in self.extra_edges.get(str(c.address), ()))
            out.append(dataclasses.replace(c, depends_on=c.depends_on + extra))
        return out

    def check(self, changes: Sequence[Change], desired: State, live: State) -> list[Violation]:
        self.seen.append([str(c.address) for c in changes])
        return list(self.violations)
