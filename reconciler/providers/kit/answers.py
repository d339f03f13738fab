"""Typed answers: every API answer is validated into a pydantic model before it is used.

A malformed answer (a field missing, a wrong type, a list where an object was expected) becomes
``UnexpectedAnswer(address, "unexpected answer from <system> (field 'id' missing)")`` instead of a
``KeyError`` deep inside a provider. The message names the field path and the kind of problem,
never the value (which may be a secret). The server did answer, so the request was executed:
``create.ambiguous`` is false for it (a create is not looked up and adopted behind a broken
answer; the next plan sees the object).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from reconciler.errors import ProviderError

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


class UnexpectedAnswer(ProviderError):
    """The server answered, but not in the shape its API documents."""


def describe(exc: ValidationError) -> str:
    """A short, value-free description of the first validation problem."""
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first.get("loc", ())) or "answer"
    kind = first.get("type", "")
    if kind == "missing":
        problem = "missing"
    elif kind.endswith("_type") or kind.endswith("_parsing"):
        problem = f"not a {kind.removesuffix('_type').removesuffix('_parsing')}"
    else:
        problem = "invalid"
    more = len(exc.errors()) - 1
    suffix = f"; {more} more problem{'s' if more > 1 else ''}" if more else ""
    return f"field '{where}' {problem}{suffix}" if where != "answer" else f"{problem}{suffix}"


def decode(model: type[M], data: Any, *, address: object, system: str) -> M:
    """``data`` validated as ``model``; raises ``ProviderError`` naming the address and system."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise UnexpectedAnswer(
            address, f"unexpected answer from {system} ({describe(exc)})"
        ) from None


@lru_cache(maxsize=256)
def _adapter(kind: Any) -> TypeAdapter[Any]:
    # Building an adapter compiles a validator (~0.2 ms); a paged read decodes one per page.
    return TypeAdapter(kind)


def decode_as(kind: Any, data: Any, *, address: object, system: str) -> Any:
    """Like ``decode`` for any type pydantic knows (``list[Model]``, ``dict[str, int]``...)."""
    try:
        return _adapter(kind).validate_python(data)
    except ValidationError as exc:
        raise UnexpectedAnswer(
            address, f"unexpected answer from {system} ({describe(exc)})"
        ) from None
