"""Wire shapes of the Flagsmith sandbox: DRF's error bodies and page envelopes.

Errors are DRF's: ``{"detail": "..."}`` for authentication, permission, not-found and throttle
answers; a serializer ``ValidationError`` with a text is a JSON list ``["..."]``; field errors
are ``{"field": ["..."]}``; unique-together validators answer ``{"non_field_errors": [...]}``.
Paginated lists use ``PageNumberPagination`` with ``PAGE_SIZE`` 10 (``REST_FRAMEWORK`` in
``api/app/settings/common.py``): ``{"count", "next", "previous", "results"}``, absolute links,
``?page=N``, no ``page_size`` parameter (the class has no ``page_size_query_param``), and 404
``Invalid page.`` out of range.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from fastapi.responses import JSONResponse

PAGE_SIZE = 10


class ApiError(Exception):
    """An error answer: a text becomes ``{"detail": text}``; a list or mapping is sent as is."""

    def __init__(self, status: int, body: str | list[str] | Mapping[str, Any], headers: Any = None):
        super().__init__(status)
        self.status = status
        self.body: Any = {"detail": body} if isinstance(body, str) else body
        self.headers = dict(headers or {})

    def response(self) -> JSONResponse:
        return JSONResponse(self.body, self.status, headers=self.headers)


def invalid(message: str) -> ApiError:
    """``raise ValidationError("text")`` in a view: a 400 with a one-item list."""
    return ApiError(400, [message])


def field_error(field: str, message: str) -> ApiError:
    return ApiError(400, {field: [message]})


def not_found() -> ApiError:
    return ApiError(404, "Not found.")


def denied() -> ApiError:
    return ApiError(403, "You do not have permission to perform this action.")


def page(rows: Sequence[Any], params: Mapping[str, str], url: str) -> dict[str, Any]:
    """One page of ``rows`` in DRF's envelope (see the module docstring)."""
    pages = max(1, math.ceil(len(rows) / PAGE_SIZE))
    raw = params.get("page", "1")
    try:
        number = pages if raw == "last" else int(raw)
    except ValueError:
        raise ApiError(404, "Invalid page.") from None
    if number < 1 or number > pages:
        raise ApiError(404, "Invalid page.")

    def link(n: int) -> str:
        query = {k: v for k, v in params.items() if k != "page"}
        if n > 1:
            query["page"] = str(n)
        return f"{url}?{urlencode(query)}" if query else url

    return {
        "count": len(rows),
        "next": link(number + 1) if number < pages else None,
        "previous": link(number - 1) if number > 1 else None,
        "results": list(rows[(number - 1) * PAGE_SIZE : number * PAGE_SIZE]),
    }


def require(body: Any, *names: str) -> dict[str, Any]:
    """``body`` as an object whose ``names`` are present (DRF: ``This field is required.``)."""
    if not isinstance(body, dict):
        raise invalid("Invalid data. Expected a dictionary, but got list.")
    missing = {n: ["This field is required."] for n in names if body.get(n) in (None, "")}
    if missing:
        raise ApiError(400, missing)
    return body


def boolean(body: Mapping[str, Any], name: str, default: bool) -> bool:
    value = body.get(name, default)
    if isinstance(value, bool):
        return value
    raise field_error(name, "Must be a valid boolean.")


def as_int(value: Any, name: str) -> int:
    if isinstance(value, bool):
        raise field_error(name, "A valid integer is required.")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise field_error(name, "A valid integer is required.") from None
