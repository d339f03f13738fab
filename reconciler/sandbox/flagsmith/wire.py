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

from collections.abc import Mapping, Sequence
from typing import Any

from reconciler.sandbox.common.wire import ApiError as ApiError
from reconciler.sandbox.common.wire import page as common_page

PAGE_SIZE = 10


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
    return common_page(rows, params, url, size=PAGE_SIZE)


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
