"""Wire shapes of the Connect sandbox: DRF error bodies and keyset pages (routes are matched
by ``common.wire.Router``).

Errors are DRF's: ``{"detail": "..."}`` for authentication (401, with ``WWW-Authenticate:
Bearer realm="api"``), permission (403) and not-found (404) answers; serializer errors are
``{"field": ["..."]}`` or ``{"non_field_errors": ["..."]}``.

Export lists (``IdKeysetPagination``, data_export/pagination.py) answer, for ``Accept:
application/json; version=2.0``, ``{"next": url|null, "results": [...]}`` ordered by integer
id: ``last_id`` (>= 1), ``page_size`` (default 1000, capped at 5000), ``cursor_order``
(``forward``/``reverse``); ``next`` keeps the other query parameters. Without the version they
stream CSV (v1.0).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from fastapi.responses import Response

from reconciler.sandbox.common.faults import Faults as Faults
from reconciler.sandbox.common.wire import ApiError as ApiError
from reconciler.sandbox.common.wire import Router as Router

DEFAULT_PAGE = 1000
MAX_PAGE = 5000


def field_error(field: str, message: str) -> ApiError:
    return ApiError(400, {field: [message]})


def invalid(message: str) -> ApiError:
    return ApiError(400, {"non_field_errors": [message]})


def denied() -> ApiError:
    return ApiError(403, "You do not have permission to perform this action.")


def not_found() -> ApiError:
    return ApiError(404, "Not found.")


def unauthenticated() -> ApiError:
    return ApiError(
        401,
        "Authentication credentials were not provided.",
        {"WWW-Authenticate": 'Bearer realm="api"'},
    )


def keyset_page(
    rows: Sequence[Mapping[str, Any]], params: Mapping[str, str], url: str
) -> dict[str, Any]:
    """One keyset page of ``rows`` (see the module docstring); rows carry an integer ``id``."""
    try:
        last_id = int(params["last_id"]) if "last_id" in params else None
        size = int(params.get("page_size", DEFAULT_PAGE))
    except ValueError:
        raise ApiError(400, {"last_id": ["A valid integer is required."]}) from None
    if (last_id is not None and last_id < 1) or size < 1:
        raise ApiError(400, {"page_size": ["Ensure this value is greater than or equal to 1."]})
    order = params.get("cursor_order", "forward")
    if order not in ("forward", "reverse"):
        raise ApiError(400, {"cursor_order": [f'"{order}" is not a valid choice.']})
    size = min(size, MAX_PAGE)
    forward = order == "forward"
    ordered = sorted(rows, key=lambda r: int(r["id"]), reverse=not forward)
    if last_id is not None:
        ordered = [r for r in ordered if (r["id"] > last_id if forward else r["id"] < last_id)]
    page = list(ordered[:size])
    following = None
    if len(ordered) > size and page:
        query = {**params, "last_id": str(page[-1]["id"]), "page_size": str(size)}
        following = f"{url}?{urlencode({**query, 'cursor_order': order})}"
    return {"next": following, "results": page}


def csv_stream(rows: Sequence[Mapping[str, Any]]) -> Response:
    """The v1.0 answer of an export list: CSV text with a header row."""
    buffer = io.StringIO()
    if rows:
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return Response(buffer.getvalue(), media_type="text/csv")
