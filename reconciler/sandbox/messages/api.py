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

import asyncio
import hashlib
import hmac
import logging
import re
from collections import Counter
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from reconciler.sandbox.messages import admin, provisioning
from reconciler.sandbox.messages.store import Row, Store, now
from reconciler.sandbox.messages.wire import ApiError

PREFIX = "/api/v1.0"
DROP_HEADER = "x-sandbox-drop"


@dataclass
class Faults:
    """Injected failures, deterministic (counters, not chance). Each counter is consumed by one
    API request, in this order: ``latency_ms`` delays every request; ``drops`` closes the
    connection without processing; ``errors`` answers ``error_status`` without processing;
    ``throttle`` answers 429 with ``Retry-After: retry_after``; ``lost`` processes the request,
    then closes the connection (the change is made, the answer lost). ``only``, when set, limits
    the faults to requests whose ``METHOD /route`` contains it."""

    latency_ms: int = 0
    drops: int = 0
    errors: int = 0
    error_status: int = 503
    throttle: int = 0
    retry_after: int = 1
    lost: int = 0
    only: str = ""


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
_COMPILED = [
    (m, t, a, h, re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", t) + "$"))
    for m, t, a, h in ROUTES
]


def _route(method: str, path: str) -> tuple[str, str, Handler, dict[str, str]]:
    templates = []
    for m, template, auth, handler, regex in _COMPILED:
        found = regex.match(path)
        if found:
            templates.append(template)
            if m == method:
                return template, auth, handler, found.groupdict()
    if templates:
        raise ApiError(405, f'Method "{method}" not allowed.')
    raise ApiError(404, "Not found.")


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


def handle(runtime: Runtime, request: Request, body: bytes) -> Response:
    """Serve one API request (faults first, then the view)."""
    path = request.url.path
    if not path.startswith(PREFIX + "/"):
        raise ApiError(404, "Not found.")
    template, auth, handler, kwargs = _route(request.method, path[len(PREFIX) :])
    label = f"{request.method} {template}"
    store = runtime.store
    with store.lock:
        runtime.counters[label] += 1
        runtime.counters["total"] += 1
        faults = runtime.faults if runtime.faults.only in label else Faults()
        if faults.drops > 0:
            faults.drops -= 1
            return Response(status_code=599, headers={DROP_HEADER: "1"})
        if faults.errors > 0:
            faults.errors -= 1
            raise ApiError(faults.error_status, "Internal server error.")
        if faults.throttle > 0:
            faults.throttle -= 1
            raise ApiError(
                429,
                f"Request was throttled. Expected available in {faults.retry_after} seconds.",
                {"Retry-After": str(faults.retry_after)},
            )
        call = Request_(
            store,
            request.method,
            kwargs,
            dict(request.query_params),
            _parse(body, request.headers.get("content-type")),
            str(request.url).split("?")[0],
            request.headers,
        )
        if auth == "channel":
            call.channel = _channel(store, request.headers)
        elif auth == "user":
            call.user = _user(store, request.headers)
        response = handler(call)
        if request.method != "GET" and response.status_code < 400:
            store.save()
        if faults.lost > 0:
            faults.lost -= 1
            return Response(status_code=599, headers={DROP_HEADER: "1"})
        return response


def _parse(raw: bytes, content_type: str | None) -> Any:
    import json

    if not raw:
        return {}
    media = (content_type or "").split(";")[0].strip().lower()
    if media and media != "application/json":
        raise ApiError(415, f'Unsupported media type "{content_type}" in request.')
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise ApiError(400, f"JSON parse error - {exc}") from None


Control = Callable[[str, str, bytes], Response]


def build_app(runtime: Runtime, control: Control) -> Any:
    """The ASGI app: one catch-all route; wrapped so injected drops close the connection."""
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    @app.api_route("/{full_path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    async def serve(request: Request, full_path: str) -> Response:
        body = await request.body()
        if request.url.path == "/health/":
            return JSONResponse({"status": "ok"})
        if request.url.path.startswith("/_sandbox/"):
            return await run_in_threadpool(_safely, control, request.method, request.url.path, body)
        if runtime.faults.latency_ms and runtime.faults.only in request.url.path:
            await asyncio.sleep(runtime.faults.latency_ms / 1000)
        return await run_in_threadpool(_answer, runtime, request, body)

    return DropConnections(app)


def _answer(runtime: Runtime, request: Request, body: bytes) -> Response:
    try:
        return handle(runtime, request, body)
    except ApiError as exc:
        return exc.response()
    except Exception:
        logging.getLogger(__name__).exception("messages sandbox: unhandled error")
        return JSONResponse({"detail": "Internal server error."}, 500)


def _safely(control: Control, method: str, path: str, body: bytes) -> Response:
    try:
        return control(method, path, body)
    except ApiError as exc:
        return exc.response()


Message = MutableMapping[str, Any]


class DropConnections:
    """ASGI wrapper: a response carrying ``x-sandbox-drop`` is never sent; uvicorn then closes
    the connection, so the client sees the server disconnect without an answer."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(
        self,
        scope: MutableMapping[str, Any],
        receive: Callable[[], Awaitable[Message]],
        send: Callable[[Message], Awaitable[None]],
    ) -> Any:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        dropped = False

        async def guarded(message: Message) -> None:
            nonlocal dropped
            if message["type"] == "http.response.start":
                dropped = any(k == DROP_HEADER.encode() for k, _v in message.get("headers", []))
            if not dropped:
                await send(message)

        await self.app(scope, receive, guarded)
        return "dropped" if dropped else None
