"""Wire conventions of the Phase API (docs/phase-api.md#wire-conventions): the error envelope,
camelCase rendering, DRF's instant format, text sanitising and validation, Postgres ``jsonb`` key
order.
"""

from __future__ import annotations

import datetime
import re
from typing import Any

from fastapi.responses import JSONResponse, Response

from reconciler.providers.phase.sanitise import Suspicious, clean_email, clean_text

ENV_NAME = re.compile(r"^[a-zA-Z0-9\-_]{1,64}$")
ENV_NAME_MESSAGE = (
    "Environment name is invalid. Only letters, numbers, hyphens and underscores are allowed "
    "(max 64 characters)."
)
_CAMEL = re.compile(r"[a-z0-9]?_[a-z0-9]")


class ApiError(Exception):
    """An error answer: ``{"error": message}`` with ``status`` (and optional headers)."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}

    def response(self) -> Response:
        return JSONResponse({"error": self.message}, self.status, headers=self.headers)


def internal_error() -> ApiError:
    """What an unhandled server exception renders as (``custom_exception_handler``)."""
    return ApiError(500, "Internal server error.")


def not_allowed(method: str) -> ApiError:
    return ApiError(405, f'Method "{method}" not allowed.')


def _camel_key(key: str) -> str:
    return _CAMEL.sub(lambda m: m.group(0)[:-2] + m.group(0)[-1].upper(), key)


def camel(value: Any) -> Any:
    """Camelize dict keys recursively, as ``CamelCaseJSONRenderer`` does; values are kept."""
    if isinstance(value, dict):
        return {_camel_key(str(k)): camel(v) for k, v in value.items()}
    if isinstance(value, list):
        return [camel(v) for v in value]
    return value


def ok(body: Any, status: int = 200) -> Response:
    """A camelCased JSON answer (every v1 view)."""
    return JSONResponse(camel(body), status)


def no_content() -> Response:
    return Response(status_code=204)


def instant(moment: datetime.datetime | None = None) -> str:
    """An instant as DRF renders it: ISO 8601 with microseconds, ``Z`` for UTC."""
    moment = moment or datetime.datetime.now(datetime.UTC)
    text = moment.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def parse_instant(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def jsonb(value: Any) -> Any:
    """A JSON value as Postgres ``jsonb`` returns it: object keys ordered by length, then by
    bytes (a stored custom role's permissions read back in this order)."""
    if isinstance(value, dict):
        keys = sorted(value, key=lambda k: (len(k.encode()), k.encode()))
        return {k: jsonb(value[k]) for k in keys}
    if isinstance(value, list):
        return [jsonb(v) for v in value]
    return value


def validate_text(value: Any, field: str, max_length: int, *, required: bool = True) -> str | None:
    """``validate_text_field``: blank counts as missing; tags and control characters are
    stripped (``sanitise.clean_text``, the provider's copy of the rule), then the value is
    trimmed; raises 400 with the server's messages, 500 for suspicious HTML."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ApiError(400, f"Missing required field: {field}")
        return None
    if not isinstance(value, str):
        raise ApiError(400, f"'{field}' must be a string.")
    try:
        cleaned = clean_text(value)
    except Suspicious:
        raise internal_error() from None
    if required and not cleaned:
        raise ApiError(400, f"Missing required field: {field}")
    if len(cleaned) > max_length:
        raise ApiError(400, f"'{field}' cannot exceed {max_length} characters.")
    return cleaned


def validate_email(value: Any) -> str:
    """``validate_email_address``: trimmed, lower-cased, Django's ``EmailValidator``
    (``sanitise.clean_email``; 400 otherwise)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ApiError(400, "Missing required field: email")
    if not isinstance(value, str):
        raise ApiError(400, "'email' must be a string.")
    cleaned = clean_email(value)
    if cleaned is None:
        raise ApiError(400, f"'{value.strip().lower()}' is not a valid email address.")
    return cleaned


def query(params: Any, name: str) -> str | None:
    """A query parameter by its snake_case name or its camelCase form (``CamelCaseMiddleWare``
    underscoreizes ``request.GET``)."""
    value = params.get(name)
    if value is None:
        value = params.get(_camel_key(name))
    return None if value is None else str(value)
