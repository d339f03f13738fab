"""Idempotent create: POST once; adopt after an ambiguous failure instead of creating twice.

A POST that fails without a clear answer (no answer at all, a dropped connection, a 5xx) may or
may not have been executed. Sending it again could create a duplicate, so ``create_once`` first
looks the object up by its natural key (``lookup``) and adopts what it finds; only when nothing
is found is the POST sent again. A clear refusal (4xx) is raised at once. No lookup precedes the
first POST: the plan was made from a fresh read, so the object was absent moments ago.

Create-only systems (whose objects cannot be found by name later) pass ``remember``: it is
called with the new or adopted server id in the same step, before anything else can fail, so
the state store learns the id even if the run stops right after.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from reconciler.errors import ProviderError
from reconciler.providers.kit.answers import UnexpectedAnswer

T = TypeVar("T")

ATTEMPTS = 3


def ambiguous(exc: ProviderError) -> bool:
    """The request may or may not have been executed (no answer, or a server error); an answer
    in an unexpected shape is a clear one (the server executed the request)."""
    if isinstance(exc, UnexpectedAnswer):
        return False
    return exc.status is None or exc.status >= 500


@dataclass(frozen=True)
class Created(Generic[T]):
    """The answer of the POST (``adopted=False``) or what ``lookup`` found (``adopted=True``)."""

    value: T
    adopted: bool


def create_once(
    post: Callable[[], T],
    lookup: Callable[[], T | None],
    *,
    attempts: int = ATTEMPTS,
    remember: Callable[[T], None] | None = None,
) -> Created[T]:
    """POST with adoption after ambiguous failures; see the module docstring.

    Raises the last ``ProviderError`` when every attempt failed ambiguously and nothing was
    found, or the first clear refusal.
    """
    for attempt in range(attempts):
        try:
            made = Created(post(), adopted=False)
        except ProviderError as exc:
            if not ambiguous(exc) or attempt == attempts - 1:
                raise
            found = lookup()
            if found is None:
                continue
            made = Created(found, adopted=True)
        if remember is not None:
            remember(made.value)
        return made
    raise AssertionError("unreachable: the last attempt returns or raises")  # pragma: no cover
