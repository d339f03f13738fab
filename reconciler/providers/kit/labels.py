"""Labelling live objects: which address name each live object of one kind gets.

A desired object claims a live one by its ``id:`` pin, then by name, then by a previous name
(a rename); every other live object keeps its own name, or ``name#<first 8 characters of its
id>`` when that name is taken or shared, so undeclared duplicates still get distinct, stable
addresses. Pure: no I/O, deterministic for a given input.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from reconciler.errors import ProviderError
from reconciler.model.resource import Resource


def label_objects(
    kind: str,
    live: Iterable[tuple[str, str]],
    wanted: Mapping[str, Resource],
    previous: Callable[[Resource], str | None] = lambda _r: None,
) -> dict[str, str]:
    """Address names for live objects given as ``(id, name)`` (in the order ties are broken,
    e.g. oldest first): live id -> label.

    ``wanted``: the desired objects of this kind by label; ``previous``: a desired object's
    former name, if it declares one. A pin naming no live object, and a name two unclaimed live
    objects share, are ``ProviderError``s at the desired object's address (the second asks for
    an ``id:`` pin).
    """
    items = list(live)
    out = _claim_pinned(items, wanted)
    _claim_named(kind, items, wanted, previous, out)
    taken = set(out.values())
    names = [x for i, x in items if i not in out]
    for i, name in items:
        if i in out:
            continue
        clash = name in taken or names.count(name) > 1
        out[i] = f"{name}#{i[:8]}" if clash else name
        taken.add(out[i])
    return out


def _claim_pinned(items: list[tuple[str, str]], wanted: Mapping[str, Resource]) -> dict[str, str]:
    by_id = {i for i, _name in items}
    out: dict[str, str] = {}
    for label, r in sorted(wanted.items()):
        if r.id is None:
            continue
        if r.id not in by_id:
            raise ProviderError(
                r.address,
                f"id {r.id!r} is not in the organisation (deleted?); remove the id: pin to "
                "create a new one",
            )
        out[r.id] = label
    return out


def _claim_named(
    kind: str,
    items: list[tuple[str, str]],
    wanted: Mapping[str, Resource],
    previous: Callable[[Resource], str | None],
    out: dict[str, str],
) -> None:
    for label, r in sorted(wanted.items()):
        if r.id is not None:
            continue
        for name in (label, previous(r)):
            if name is None:
                continue
            same = [i for i, x in items if x == name and i not in out]
            if len(same) > 1:
                raise ProviderError(
                    r.address,
                    f"{len(same)} live {kind.replace('_', ' ')}s are named {name!r} (ids "
                    f"{', '.join(sorted(same))}); add id: <one of them> to the spec, or rename "
                    "the others",
                )
            if same:
                out[same[0]] = label
                break
