"""The sandbox's ASGI application: routing, the DRF request pipeline, throttling, faults and
request counters.

Routing follows ``backend/backend/urls.py``: the public URLs (``""`` and ``v1/...``) are mounted
at ``/`` and at ``/public/``; ``health/``, ``secrets/tokens/``, ``graphql/`` and
``auth/password/login/`` only at ``/``; a leading ``/service`` is stripped first
(``ServicePrefixMiddleware``). ``APPEND_SLASH`` is off, so a path without its trailing slash is a
404 with Django's HTML page.

A v1 request goes through DRF's order: content negotiation (406), authentication (401/403/404
from ``auth.authenticate``), ``IsAuthenticated`` (401), the plan throttle (429), the view's own
``initial`` checks (405/403), then the handler (405 when the view has none for the method).
``/_sandbox/...`` is the control API (``control.py``), not part of the real server.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import re
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from reconciler.sandbox.phase import (
    routes_apps,
    routes_members,
    routes_roles,
    routes_secrets,
    routes_service_accounts,
    routes_teams,
)
from reconciler.sandbox.phase.auth import authenticate, live_token, parse_header
from reconciler.sandbox.phase.call import Call, View
from reconciler.sandbox.phase.store import Store
from reconciler.sandbox.phase.wire import ApiError, internal_error, not_allowed

NOT_FOUND_HTML = (
    '<!doctype html>\n<html lang="en">\n<head>\n  <title>Not Found</title>\n</head>\n<body>\n'
    "  <h1>Not Found</h1><p>The requested resource was not found on this server.</p>\n"
    "</body>\n</html>\n"
)
ROOT_MESSAGE = (
    "API is alive. Please see https://docs.phase.dev/public-api for documentation on available "
    "endpoints."
)
VERSION = "v2.73.2"
DROP_HEADER = "x-sandbox-drop"

PUBLIC_VIEWS: dict[str, View] = {
    **routes_secrets.VIEWS,
    **routes_apps.VIEWS,
    **routes_service_accounts.VIEWS,
    **routes_roles.VIEWS,
    **routes_members.VIEWS,
    **routes_teams.VIEWS,
}
ROOT_ROUTES = ("health/", "secrets/tokens/", "graphql/", "auth/password/login/")


def _compile(pattern: str) -> re.Pattern[str]:
    regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern)
    return re.compile("^" + regex + "$")


COMPILED = [(pattern, _compile(pattern), view) for pattern, view in PUBLIC_VIEWS.items()]

# An injected or real throttle answer.


def throttled(wait: int) -> ApiError:
    unit = "second" if wait == 1 else "seconds"
    return ApiError(
        429,
        f"Request was throttled. Expected available in {wait} {unit}.",
        {"Retry-After": str(wait)},
    )


@dataclass
class Faults:
    """Injected failures for resilience tests, deterministic (counters, not chance).

    Each counter is consumed by one API request (``/_sandbox/`` calls are never faulted), in
    this order: ``latency_ms`` delays every request; ``drops`` closes the connection without an
    answer and without processing; ``errors`` answers ``error_status`` without processing;
    ``error_every`` answers ``error_status`` to every Nth request; ``throttle`` answers 429 with
    ``Retry-After: retry_after``; ``lost`` processes the request, then closes the connection so
    the answer is lost (the change is made). ``only``, when set, limits every fault to the
    requests whose ``METHOD /route`` (for GraphQL followed by `` operationName``, e.g.
    ``POST /graphql/ CreateEnv``) contains it; the others pass untouched.
    """

    latency_ms: int = 0
    drops: int = 0
    errors: int = 0
    error_status: int = 503
    error_every: int = 0
    throttle: int = 0
    retry_after: int = 1
    lost: int = 0
    only: str = ""
    seen: int = 0


@dataclass
class Runtime:
    """Mutable server-side context: the store, plan, throttle windows, faults and counters."""

    store: Store
    rate_limit: int | None = None
    faults: Faults = field(default_factory=Faults)
    counters: Counter[str] = field(default_factory=Counter)
    windows: dict[str, deque[float]] = field(default_factory=dict)

    def throttle(self, key: str) -> None:
        """DRF ``SimpleRateThrottle`` with a one-minute window per principal: a throttled
        request is not recorded; ``wait`` is the time until the oldest request leaves."""
        if not self.rate_limit:
            return
        history = self.windows.setdefault(key, deque())
        stamp = time.monotonic()
        while history and history[0] <= stamp - 60:
            history.popleft()
        if len(history) >= self.rate_limit:
            raise throttled(max(1, math.ceil(60 - (stamp - history[0]))))
        history.append(stamp)


def split_path(raw: str) -> tuple[str, bool]:
    """``(path relative to the URL root, served under /public/)``."""
    path = raw
    if path == "/service" or path.startswith("/service/"):
        path = path[len("/service") :] or "/"
    path = path.lstrip("/")
    if path == "public/" or path.startswith("public/"):
        return path[len("public/") :], True
    return path, False


def match(path: str) -> tuple[str, View, dict[str, str]] | None:
    for pattern, regex, view in COMPILED:
        found = regex.match(path)
        if found:
            return pattern, view, found.groupdict()
    return None


def _accepts_json(accept: str | None) -> bool:
    if not accept:
        return True
    for part in accept.split(","):
        media = part.split(";")[0].strip().lower()
        if media in ("*/*", "application/*", "application/json", ""):
            return True
    return False


@dataclass
class Incoming:
    """The parts of an HTTP request the pipeline needs."""

    method: str
    path: str
    headers: Any
    params: Any
    body: bytes
    content_type: str | None
    client: str


def route_name(path: str, public: bool) -> str | None:
    """The route pattern serving ``path``, or None (404)."""
    if not public and path in ROOT_ROUTES:
        return path
    if path == "":
        return "(root)"
    found = match(path)
    return None if found is None else found[0]


def serve_v1(runtime: Runtime, request: Incoming) -> Response:
    """The DRF pipeline for a public v1 view (see the module docstring)."""
    found = match(request.path)
    assert found is not None
    _pattern, view, kwargs = found
    if not _accepts_json(request.headers.get("accept")):
        raise ApiError(406, "Could not satisfy the request Accept header.")
    store = runtime.store
    auth = authenticate(store, request.headers, request.params, kwargs)
    if auth is None:
        raise ApiError(401, "Authentication credentials were not provided.")
    runtime.throttle(auth.caller.throttle_key)
    call = Call(
        store,
        auth,
        request.method,
        request.params,
        kwargs,
        request.body,
        request.content_type,
    )
    view.initial(call)
    handler = view.handlers.get(request.method)
    if handler is None:
        raise not_allowed(request.method)
    response = handler(call)
    if request.method != "GET" and response.status_code < 400:
        store.save()
    return response


def serve_tokens(runtime: Runtime, request: Incoming) -> Response:
    """``GET /secrets/tokens/`` (function view: no camelCase, 403 for bad tokens)."""
    if request.method not in ("GET", "HEAD"):
        raise not_allowed(request.method)
    header = request.headers.get("authorization")
    if header is None:
        raise internal_error()
    store = runtime.store
    token_type, value = parse_header(header)
    token = live_token(store, token_type, value)
    key = f"anon_{request.client}"
    if token is not None:
        key = f"{'user' if token['kind'] == 'user' else 'sa'}_{token['owner_id']}"
    runtime.throttle(key)
    if token is None:
        return JSONResponse({"error": "Token expired or deleted"}, 403)
    return routes_secrets.secrets_tokens(store, token)


Extra = Callable[[Runtime, Incoming], Response]


def handle(runtime: Runtime, request: Incoming, extras: dict[str, Extra]) -> Response:
    """Serve one request below the URL root (everything but ``/_sandbox/``)."""
    path, public = split_path(request.path)
    request.path = path
    name = route_name(path, public)
    if name is None:
        return HTMLResponse(NOT_FOUND_HTML, 404)
    runtime.counters[f"{request.method} /{name}"] += 1
    runtime.counters["total"] += 1
    store = runtime.store
    with store.lock:
        faults = runtime.faults if _faulted(runtime.faults, request, name) else Faults()
        faults.seen += 1
        if faults.drops > 0:
            faults.drops -= 1
            return Response(status_code=599, headers={DROP_HEADER: "1"})
        if faults.errors > 0 or (faults.error_every and faults.seen % faults.error_every == 0):
            faults.errors = max(0, faults.errors - 1)
            raise ApiError(faults.error_status, "Internal server error.")
        if faults.throttle > 0:
            faults.throttle -= 1
            raise throttled(faults.retry_after)
        if name == "health/":
            response: Response = JSONResponse({"status": "alive", "version": VERSION})
        elif name == "(root)":
            response = JSONResponse({"message": ROOT_MESSAGE, "status": "ok"})
        elif name == "secrets/tokens/":
            response = serve_tokens(runtime, request)
        elif name in extras:
            response = extras[name](runtime, request)
        else:
            response = serve_v1(runtime, request)
        if faults.lost > 0:
            faults.lost -= 1
            return Response(status_code=599, headers={DROP_HEADER: "1"})
        return response


Control = Callable[[str, str, bytes, str | None], Response]


def _faulted(faults: Faults, request: Incoming, name: str) -> bool:
    """Whether ``faults`` apply to this request (``Faults.only``)."""
    if not faults.only:
        return True
    label = f"{request.method} /{name}"
    if name == "graphql/":
        try:
            body = json.loads(request.body or b"{}")
        except ValueError:
            body = {}
        label += f" {body.get('operationName') or ''}" if isinstance(body, dict) else ""
    return faults.only in label


def build_app(runtime: Runtime, control: Control, extras: dict[str, Extra]) -> Any:
    """The ASGI app: one catch-all FastAPI route (the sandbox owns every routing decision),
    wrapped so an injected connection drop closes the socket without an answer."""
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    @app.api_route(
        "/{full_path:path}", methods=["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]
    )
    async def serve(request: Request, full_path: str) -> Response:
        body = await request.body()
        content_type = request.headers.get("content-type")
        path = request.url.path
        if path.startswith("/_sandbox/"):
            return await run_in_threadpool(
                _safely, control, request.method, path, body, content_type
            )
        latency = runtime.faults.latency_ms
        if latency:
            await asyncio.sleep(latency / 1000)
        incoming = Incoming(
            request.method,
            path,
            request.headers,
            request.query_params,
            body,
            content_type,
            request.client.host if request.client else "",
        )
        return await run_in_threadpool(_answer, runtime, incoming, extras)

    return DropConnections(app)


def _answer(runtime: Runtime, incoming: Incoming, extras: dict[str, Extra]) -> Response:
    try:
        return handle(runtime, incoming, extras)
    except ApiError as exc:
        return exc.response()
    except Exception:
        logging.getLogger(__name__).exception("sandbox: unhandled error")
        return internal_error().response()


def _safely(control: Control, method: str, path: str, body: bytes, ctype: str | None) -> Response:
    try:
        return control(method, path, body, ctype)
    except ApiError as exc:
        return exc.response()


Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class DropConnections:
    """ASGI wrapper: a response carrying ``x-sandbox-drop`` is never sent; returning a value
    makes uvicorn close the connection, so the client sees the server disconnect."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> Any:
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


class QuietDrops(logging.Filter):
    """Keeps uvicorn from logging the injected drops as application errors."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "should return None" not in record.getMessage()


logging.getLogger("uvicorn.error").addFilter(QuietDrops())
