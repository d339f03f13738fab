"""One API request as a view sees it, and the view shape (DRF's ``initial`` + handlers).

Request bodies are parsed lazily, on first use, as DRF's default parsers do (JSON, form,
multipart, tried in that order against the ``Content-Type``; see ``parse_body``). A view that
reads fields from a body that is not an object fails with 500, as ``request.data.get`` does on
the real server.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from typing import Any
from urllib.parse import parse_qsl

from fastapi.responses import Response

from reconciler.sandbox.phase.access import has_permission, role_has_global_access
from reconciler.sandbox.phase.auth import Auth, Caller
from reconciler.sandbox.phase.store import Row, Store
from reconciler.sandbox.phase.wire import ApiError, internal_error, not_allowed

METHOD_TO_ACTION = {"GET": "read", "POST": "create", "PUT": "update", "DELETE": "delete"}
_UNSET: Any = object()


@dataclass
class Call:
    """A request routed to a view."""

    store: Store
    auth: Auth
    method: str
    params: Any
    path: dict[str, str]
    raw_body: bytes = b""
    content_type: str | None = None
    _data: Any = field(default=_UNSET, repr=False)

    @property
    def caller(self) -> Caller:
        return self.auth.caller

    @property
    def data(self) -> Any:
        """``request.data``."""
        if self._data is _UNSET:
            self._data = parse_body(self.raw_body, self.content_type)
        return self._data

    def get(self, key: str, default: Any = None) -> Any:
        """``request.data.get(key, default)`` (500 when the body is not an object)."""
        data = self.data
        if not isinstance(data, dict):
            raise internal_error()
        return data.get(key, default)

    def has(self, key: str) -> bool:
        """``key in request.data``."""
        data = self.data
        return isinstance(data, dict | list) and key in data

    def action(self) -> str:
        """``METHOD_TO_ACTION[method]``, 405 for methods it lacks."""
        action = METHOD_TO_ACTION.get(self.method)
        if action is None:
            raise not_allowed(self.method)
        return action

    def caller_global(self) -> bool:
        return role_has_global_access(self.store.role_of(self.caller.row))

    def allowed(
        self, action: str, resource: str, is_app_resource: bool = False, app: Row | None = None
    ) -> bool:
        caller = self.caller
        return has_permission(
            self.store, caller.kind, caller.row, action, resource, is_app_resource, app
        )

    def require(
        self,
        action: str,
        resource: str,
        noun: str,
        is_app_resource: bool = False,
        app: Row | None = None,
    ) -> None:
        """403 ``You don't have permission to <action> <noun>.`` unless allowed."""
        if not self.allowed(action, resource, is_app_resource, app):
            raise ApiError(403, f"You don't have permission to {action} {noun}.")

    def org_mode_app(self) -> Row | None:
        """The app of app/environment mode (org-level endpoints accept it too)."""
        return self.auth.app


PARSERS = ("application/json", "application/x-www-form-urlencoded", "multipart/form-data")


def media_type(header: str) -> tuple[str, str, dict[str, str]]:
    """``(main, sub, params)`` of a media type, lower-cased as Django parses it."""
    full, *rest = header.split(";")
    params: dict[str, str] = {}
    for part in rest:
        key, sep, value = part.partition("=")
        if sep:
            params[key.strip().lower()] = value.strip().strip('"')
    main, _, sub = full.strip().lower().partition("/")
    return main, sub, params


def _matches(parser: str, main: str, sub: str) -> bool:
    """DRF's ``media_type_matches(parser.media_type, content_type)`` (``*`` matches all)."""
    p_main, _, p_sub = parser.partition("/")
    return sub in ("*", p_sub) and main in ("*", p_main)


def _strict_constant(value: str) -> Any:
    raise ValueError(f"Out of range float values are not JSON compliant: {value!r}")


def parse_body(raw: bytes, content_type: str | None) -> Any:
    """``request.data``. An empty body is ``{}``. Otherwise the first of DRF's parsers whose
    media type matches ``Content-Type`` reads it (none, a missing header included: 415
    ``Unsupported media type "<header>" in request.``), decoding with the header's charset
    when Python knows it, else UTF-8: a UTF-8 BOM or UTF-16 text is a JSON parse error, as
    are ``NaN`` and ``Infinity``; multipart fields are the data, files are left out."""
    if not raw:
        return {}
    header = content_type or ""
    main, sub, params = media_type(header)
    parser = next((p for p in PARSERS if _matches(p, main, sub)), None)
    if parser is None:
        raise ApiError(415, f'Unsupported media type "{header}" in request.')
    encoding = params.get("charset", "utf-8")
    try:
        codecs.lookup(encoding)
    except LookupError:
        encoding = "utf-8"
    if parser == "application/json":
        try:
            return json.loads(raw.decode(encoding), parse_constant=_strict_constant)
        except ValueError as exc:  # UnicodeDecodeError included
            raise ApiError(400, f"JSON parse error - {exc}") from None
    if parser == "application/x-www-form-urlencoded":
        return dict(parse_qsl(raw.decode(encoding, "replace"), keep_blank_values=True))
    return _multipart(raw, header, params, encoding)


def _multipart(raw: bytes, header: str, params: dict[str, str], encoding: str) -> dict[str, str]:
    """Django's ``MultiPartParser`` for the fields (a field named twice: the last wins)."""
    if not params.get("boundary"):
        raise ApiError(400, "Multipart form parse error - Invalid boundary in multipart: None")
    message = message_from_bytes(f"Content-Type: {header}\r\n\r\n".encode() + raw)
    fields: dict[str, str] = {}
    parts = message.get_payload() if message.is_multipart() else []
    disposition = "content-disposition"
    for part in parts if isinstance(parts, list) else []:
        if not isinstance(part, Message) or part.get_param("filename", header=disposition):
            continue  # a file goes to request.FILES, not request.data
        name = part.get_param("name", header=disposition)
        payload = part.get_payload(decode=True)
        if isinstance(name, str) and isinstance(payload, bytes):
            fields[name] = payload.decode(encoding, "replace")
    return fields


Handler = Callable[[Call], Response]


@dataclass(frozen=True)
class View:
    """A DRF view: ``initial`` (the view's own checks, after authentication and throttling)
    and one handler per implemented method; a method without a handler is 405 after
    ``initial``."""

    initial: Callable[[Call], None]
    handlers: dict[str, Handler]
