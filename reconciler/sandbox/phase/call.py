"""One API request as a view sees it, and the view shape (DRF's ``initial`` + handlers).

Request bodies are parsed lazily, on first use, as DRF does: JSON (``application/json``) or
form fields; no ``Content-Type`` means an empty body; an unknown type is 415; malformed JSON is
400 ``JSON parse error - ...``. A view that reads fields from a body that is not an object fails
with 500, as ``request.data.get`` does on the real server.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
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


def parse_body(raw: bytes, content_type: str | None) -> Any:
    if not raw:
        return {}
    media = (content_type or "").split(";")[0].strip().lower()
    if not media:
        return {}
    if media == "application/json" or media.endswith("+json"):
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise ApiError(400, f"JSON parse error - {exc}") from None
    if media == "application/x-www-form-urlencoded":
        return dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
    if media == "multipart/form-data":
        return {}
    raise ApiError(415, f'Unsupported media type "{content_type}" in request.')


Handler = Callable[[Call], Response]


@dataclass(frozen=True)
class View:
    """A DRF view: ``initial`` (the view's own checks, after authentication and throttling)
    and one handler per implemented method; a method without a handler is 405 after
    ``initial``."""

    initial: Callable[[Call], None]
    handlers: dict[str, Handler]
