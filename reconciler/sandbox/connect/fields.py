"""DRF serializer field checks the automation API's serializers apply, with DRF's messages.

Each check reads one key of a request body and raises ``ApiError(400, {key: [message]})`` as
DRF's ``is_valid(raise_exception=True)`` does; nested serializers nest the error body
(``{"learn_app": {"api_key": [...]}}``).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import Any

from reconciler.sandbox.connect.wire import ApiError

REQUIRED = "This field is required."


def _fail(key: str, message: str, nest: str | None) -> ApiError:
    body: dict[str, Any] = {key: [message]}
    return ApiError(400, {nest: body} if nest else body)


def text(
    body: dict[str, Any],
    key: str,
    *,
    max_length: int = 255,
    nest: str | None = None,
    required: bool = True,
    default: str = "",
) -> str:
    if key not in body or body[key] is None:
        if required:
            raise _fail(key, REQUIRED if key not in body else "This field may not be null.", nest)
        return default
    value = body[key]
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise _fail(key, "Not a valid string.", nest)
    value = str(value).strip()
    if not value and required:
        raise _fail(key, "This field may not be blank.", nest)
    if len(value) > max_length:
        raise _fail(key, f"Ensure this field has no more than {max_length} characters.", nest)
    return value


def integer(
    body: dict[str, Any],
    key: str,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    nest: str | None = None,
    required: bool = True,
) -> int | None:
    if key not in body or body[key] is None:
        if required:
            raise _fail(key, REQUIRED, nest)
        return None
    value = body[key]
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise _fail(key, "A valid integer is required.", nest)
    try:
        number = int(value)
    except ValueError:
        raise _fail(key, "A valid integer is required.", nest) from None
    if minimum is not None and number < minimum:
        raise _fail(key, f"Ensure this value is greater than or equal to {minimum}.", nest)
    if maximum is not None and number > maximum:
        raise _fail(key, f"Ensure this value is less than or equal to {maximum}.", nest)
    return number


def date(body: dict[str, Any], key: str, *, required: bool = True) -> str | None:
    if key not in body or body[key] is None:
        if required:
            raise _fail(key, REQUIRED, None)
        return None
    try:
        return datetime.date.fromisoformat(str(body[key])).isoformat()
    except ValueError:
        raise _fail(
            key, "Date has wrong format. Use one of these formats instead: YYYY-MM-DD.", None
        ) from None


def boolean(body: dict[str, Any], key: str, default: bool) -> bool:
    value = body.get(key, default)
    if isinstance(value, bool):
        return value
    if value in ("true", "True", 1, "1"):
        return True
    if value in ("false", "False", 0, "0"):
        return False
    raise _fail(key, "Must be a valid boolean.", None)


def slug_of(
    body: dict[str, Any], key: str, field: str, known: Iterable[str], *, nest: str | None = None
) -> str:
    """A ``SlugRelatedField``: the value must name an existing object by ``field``."""
    value = text(body, key, nest=nest)
    if value not in set(known):
        raise _fail(key, f"Object with {field}={value} does not exist.", nest)
    return value


def int_list(body: dict[str, Any], key: str) -> list[int]:
    value = body.get(key, [])
    if not isinstance(value, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in value
    ):
        raise _fail(key, "A valid integer is required.", None)
    return list(value)
