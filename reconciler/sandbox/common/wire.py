"""Wire shapes the sandboxes of Django REST framework servers share: the error answer and the
``PageNumberPagination`` envelope.

Errors are DRF's: ``{"detail": "..."}`` for authentication, permission, not-found and throttle
answers; a serializer ``ValidationError`` with a text is a list, field errors a mapping, both
sent as they are. Pages are ``{"count", "next", "previous", "results"}`` with absolute links,
``?page=N`` (or ``last``), and 404 ``Invalid page.`` out of range or unreadable.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from fastapi.responses import JSONResponse, Response


class ApiError(Exception):
    """An error answer: a text becomes ``{"detail": text}``; a list or mapping is sent as is."""

    def __init__(
        self, status: int, body: str | list[str] | Mapping[str, Any], headers: Any = None
    ) -> None:
        super().__init__(status)
        self.status = status
        self.body: Any = {"detail": body} if isinstance(body, str) else body
        self.headers = dict(headers or {})

    def response(self) -> JSONResponse:
        return JSONResponse(self.body, self.status, headers=self.headers)


def parse_json(raw: bytes, content_type: str | None) -> Any:
    """A request body as DRF's ``JSONParser`` reads it: empty is ``{}``; another media type is
    415; JSON that does not parse is 400."""
    if not raw:
        return {}
    media = (content_type or "").split(";")[0].strip().lower()
    if media and media != "application/json":
        raise ApiError(415, f'Unsupported media type "{content_type}" in request.')
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise ApiError(400, f"JSON parse error - {exc}") from None


def page(
    rows: Sequence[Any],
    params: Mapping[str, str],
    url: str,
    *,
    size: int,
    max_size: int | None = None,
) -> dict[str, Any]:
    """One page of ``rows`` in DRF's envelope. ``page_size`` is honoured (up to ``max_size``)
    only when ``max_size`` is given, as on views with ``page_size_query_param``."""
    if max_size is not None and params.get("page_size"):
        with contextlib.suppress(ValueError):
            size = max(1, min(max_size, int(params["page_size"])))
    pages = max(1, math.ceil(len(rows) / size))
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
        "results": list(rows[(number - 1) * size : number * size]),
    }


Handler = Callable[..., Response]


class Router:
    """``(method, template) -> handler`` with ``{name}`` segments (``{id:int}`` digits only).
    A path no template matches is 404 ``Not found.``; one matched for another method only is
    405, as DRF answers."""

    def __init__(self, routes: list[tuple[str, str, Handler]]) -> None:
        self.routes = []
        for method, template, handler in routes:
            pattern = re.sub(r"\{(\w+):int\}", r"(?P<\1>[0-9]+)", template)
            pattern = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern)
            self.routes.append((method, template, handler, re.compile(f"^{pattern}$")))

    def find(self, method: str, path: str) -> tuple[str, Handler, dict[str, str]]:
        """The matching template, its handler and the path's named segments."""
        allowed = False
        for m, template, handler, regex in self.routes:
            found = regex.match(path)
            if found:
                allowed = True
                if m == method:
                    return template, handler, found.groupdict()
        if allowed:
            raise ApiError(405, f'Method "{method}" not allowed.')
        raise ApiError(404, "Not found.")
