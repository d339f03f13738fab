"""order: a deterministic dependency order for a plan's changes (pure).

Edges (``a`` after ``b``):

* a create or update runs after the change of every object its desired resource depends on
  (parents, referenced roles and principals are created or updated first);
* a delete runs after every change whose *live* resource depends on the deleted object
  (children are deleted, or moved away, first);
* edges a provider already put in ``Change.depends_on`` (from ``refine``) are kept.

Only edges between changes of the same plan count: a dependency with nothing to do is already
satisfied. Among changes whose dependencies are done, the smallest address goes first, so the
same input always gives the same order. A cycle raises ``CycleError`` naming every address in it.
"""

from __future__ import annotations

import dataclasses
import heapq
from collections.abc import Sequence

from reconciler.address import Address
from reconciler.errors import CycleError
from reconciler.plan.change import Action, Change


def edges(changes: Sequence[Change]) -> dict[Address, set[Address]]:
    """For each change address, the addresses of the changes that must run before it."""
    present = {c.address for c in changes}
    deps: dict[Address, set[Address]] = {c.address: set() for c in changes}
    for change in changes:
        deps[change.address].update(a for a in change.depends_on if a in present)
        if change.desired is not None and change.action is not Action.DELETE:
            deps[change.address].update(a for a in change.desired.depends_on if a in present)
    deleted = {c.address for c in changes if c.action is Action.DELETE}
    for change in changes:
        if change.live is None:
            continue
        for parent in change.live.depends_on:
            if parent in deleted and parent != change.address:
                deps[parent].add(change.address)
    for address, before in deps.items():
        before.discard(address)
    return deps


def order(changes: Sequence[Change]) -> tuple[Change, ...]:
    """The changes in execution order, each with ``depends_on`` set to its sorted edges."""
    by_address: dict[Address, Change] = {}
    for change in changes:
        if change.address in by_address:
            raise ValueError(f"{change.address}: two changes for one address")
        by_address[change.address] = change
    deps = edges(changes)
    dependents: dict[Address, list[Address]] = {a: [] for a in deps}
    for address, before in deps.items():
        for b in before:
            dependents[b].append(address)
    waiting = {a: len(before) for a, before in deps.items()}
    # The heap holds (provider, kind, name, address): tuple comparisons run in C, where
    # Address.__lt__ would be a Python call per comparison (large plans).
    ready = [(a.provider, a.kind, a.name, a) for a, n in waiting.items() if n == 0]
    heapq.heapify(ready)
    out: list[Change] = []
    while ready:
        address = heapq.heappop(ready)[3]
        out.append(
            dataclasses.replace(by_address[address], depends_on=tuple(sorted(deps[address])))
        )
        for after in dependents[address]:
            waiting[after] -= 1
            if waiting[after] == 0:
                heapq.heappush(ready, (after.provider, after.kind, after.name, after))
    if len(out) != len(by_address):
        left = {a for a, n in waiting.items() if n > 0}
        raise CycleError(_cycle({a: deps[a] & left for a in left}))
    return tuple(out)


def _cycle(graph: dict[Address, set[Address]]) -> list[Address]:
    """The members of the first (by smallest address) strongly connected cycle in ``graph``.

    Nodes left after a topological sort either lie on a cycle or wait for one; Tarjan's
    algorithm separates the two so the error names the cycle, not its bystanders.
    """
    index: dict[Address, int] = {}
    low: dict[Address, int] = {}
    stack: list[Address] = []
    on_stack: set[Address] = set()
    cycles: list[list[Address]] = []

    def visit(root: Address) -> None:
        # Iterative Tarjan: (node, iterator over its successors).
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, successors = work[-1]
            advanced = False
            for nxt in successors:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                    advanced = True
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component: list[Address] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in graph[node]:
                    cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return min(cycles) if cycles else sorted(graph)
