"""Wire conventions of the Phase API: errors, camelCase rendering, text sanitising, names."""

from __future__ import annotations

import re
from typing import Any

from fastapi.responses import JSONResponse, Response

from reconciler.sandbox.phase.store import Row

ENV_NAME = re.compile(r"^[a-zA-Z0-9\-_]{1,64}$")
_TAGS = re.compile(r"<[^>]*>")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class ApiError(Exception):
    """An error answer: ``{"error": message}`` with ``status`` (and optional headers)."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}

    def response(self) -> Response:
        return JSONResponse({"error": self.message}, self.status, headers=self.headers)


def _camel_key(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def camel(value: Any) -> Any:
    """Camelize dict keys recursively, as ``CamelCaseJSONRenderer`` does."""
    if isinstance(value, dict):
        return {_camel_key(str(k)): camel(v) for k, v in value.items()}
    if isinstance(value, list):
        return [camel(v) for v in value]
    return value


def ok(body: Any, status: int = 200) -> Response:
    return JSONResponse(camel(body), status)


def sanitise(value: Any) -> str | None:
    """``validate_text_field``: strip HTML tags and control characters, trim; blank is None."""
    if value is None:
        return None
    text = _CONTROL.sub("", _TAGS.sub("", str(value))).strip()
    return text or None


def text_field(body: Row, name: str, limit: int, *, required: bool) -> str | None:
    value = sanitise(body.get(name))
    if value is None:
        if required:
            raise ApiError(400, f"Missing required field: {name}")
        return None
    if len(value) > limit:
        raise ApiError(400, f"'{name}' must be {limit} characters or fewer.")
    return value


def query(params: Any, name: str) -> str | None:
    """A query parameter by its snake_case name or its camelCase form (CamelCaseMiddleWare)."""
    value = params.get(name)
    if value is None:
        value = params.get(_camel_key(name))
    return None if value is None else str(value)
