"""The Messages sandbox's HTTP app: routing, authentication, faults and counters.

Everything lives under ``/api/v1.0/`` (``settings.API_VERSION``), except ``/_sandbox/`` (the
control API, ``control.py``) and ``/health/``. Authentication, as on the real server:

* provisioning views (``provisioning.py``): ``ChannelApiKeyAuthentication``, headers
  ``X-Channel-Id`` + ``X-API-Key``; the key is SHA-256 hashed and compared with the channel's
  ``api_key_hashes``. Missing headers 401 ``Authentication credentials were not provided.``,
  unknown channel or wrong key 401 ``Invalid channel or API key.``, expired 401 ``API key has
  expired.`` (all with ``WWW-Authenticate: X-API-Key``); a channel that is not global, or lacks
  the view's scope, 403.
* admin views (``admin.py``): ``Authorization: Bearer <token>`` (the OIDC bearer of a user);
  missing or unknown 401.
* ``GET /api/v1.0/config/``: anonymous.

Faults (``Faults``) are consumed by API requests only, never by ``/_sandbox/`` or ``/health/``.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from reconciler.sandbox.common import app as common_app
from reconciler.sandbox.common.faults import Faults, serve
from reconciler.sandbox.common.wire import Router, parse_json
from reconciler.sandbox.messages import admin, provisioning
from reconciler.sandbox.messages.store import Row, Store, now
from reconciler.sandbox.messages.wire import ApiError

PREFIX = "/api/v1.0"


@dataclass
class Request_:
    """What a view sees of one request."""

    store: Store
    method: str
    path: dict[str, str]
    params: dict[str, str]
    body: Any
    url: str  # absolute URL of the path, without the query (for pagination links)
    headers: Any
    user: Row | None = None
    channel: Row | None = None


Handler = Callable[[Request_], Response]


@dataclass
class Runtime:
    store: Store
    faults: Faults = field(default_factory=Faults)
    counters: Counter[str] = field(default_factory=Counter)


# (method, route template, auth: "channel" | "user" | "none", handler)
ROUTES: list[tuple[str, str, str, Handler]] = [
    ("GET", "/config/", "none", provisioning.config),
    ("POST", "/provisioning/maildomains/", "channel", provisioning.provision),
    ("GET", "/provisioning/maildomains/dns/", "channel", provisioning.dns_list),
    ("GET", "/provisioning/mailboxes/", "channel", provisioning.mailboxes),
    *admin.ROUTES,
]


def _channel(store: Store, headers: Any) -> Row:
    channel_id, key = headers.get("x-channel-id"), headers.get("x-api-key")
    unauthorised = {"WWW-Authenticate": "X-API-Key"}
    if not channel_id or not key:
        raise ApiError(401, "Authentication credentials were not provided.", unauthorised)
    channel = store.table("channels").get(channel_id)
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
    if channel is None or channel.get("type") != "api_key":
        raise ApiError(401, "Invalid channel or API key.", unauthorised)
    matched = False
    for stored in channel.get("api_key_hashes", []):
        matched |= hmac.compare_digest(stored, digest)
    if not matched:
        raise ApiError(401, "Invalid channel or API key.", unauthorised)
    expires = (channel.get("settings") or {}).get("expires_at")
    if expires and str(expires) < now():
        raise ApiError(401, "API key has expired.", unauthorised)
    return channel


def _user(store: Store, headers: Any) -> Row:
    scheme, _, token = (headers.get("authorization") or "").partition(" ")
    owner = store.table("tokens").get(token) if scheme.lower() == "bearer" else None
    user = store.table("users").get(owner["user_id"]) if owner else None
    if user is None:
        raise ApiError(401, "Authentication credentials were not provided.")
    return user


def _guarded(auth: str, handler: Handler) -> Handler:
    """``handler`` behind the route's authentication (after faults and body parsing)."""

    def guarded(call: Request_) -> Response:
        if auth == "channel":
            call.channel = _channel(call.store, call.headers)
        elif auth == "user":
            call.user = _user(call.store, call.headers)
        return handler(call)

    return guarded


_ROUTER = Router([(m, t, _guarded(a, h)) for m, t, a, h in ROUTES])


def handle(runtime: Runtime, request: Request, body: bytes) -> Response:
    """Serve one API request (faults first, then the view)."""
    path = request.url.path
    if not path.startswith(PREFIX + "/"):
        raise ApiError(404, "Not found.")
    template, handler, kwargs = _ROUTER.find(request.method, path[len(PREFIX) :])
    store = runtime.store

    def view() -> Response:
        call = Request_(
            store,
            request.method,
            kwargs,
            dict(request.query_params),
            parse_json(body, request.headers.get("content-type")),
            str(request.url).split("?")[0],
            request.headers,
        )
        response: Response = handler(call)
        return response

    with store.lock:
        return serve(runtime, request.method, template, "Internal server error.", view, store.save)


Control = Callable[[str, str, bytes], Response]


def build_app(runtime: Runtime, control: Control) -> Any:
    """The ASGI app (``common.app.build_app``); a latency's ``only`` is matched against the
    request path."""
    return common_app.build_app(
        faults=lambda: runtime.faults,
        answer=common_app.answering(
            lambda request, raw: handle(runtime, request, raw),
            logging.getLogger(__name__),
            "messages sandbox",
            "Internal server error.",
        ),
        control=common_app.controlling(control),
        latency_label=lambda request: request.url.path,
    )
