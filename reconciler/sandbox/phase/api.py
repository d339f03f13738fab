"""The sandbox's ASGI application: routing, the DRF request pipeline, throttling, faults and
request counters.

Routing follows ``backend/backend/urls.py``: the public URLs (``""`` and ``v1/...``) are mounted
at ``/`` and at ``/public/``; ``health/``, ``secrets/tokens/``, ``graphql/`` and
``auth/password/login/`` only at ``/``; a leading ``/service`` is stripped first
(``ServicePrefixMiddleware``). ``APPEND_SLASH`` is off, so a path without its trailing slash is a
404 with Django's HTML page (which starts with a newline).

A v1 request goes through DRF's order: content negotiation (``?format=`` other than ``json``:
404 ``Not found.``; an ``Accept`` without JSON: 406), authentication (401/403/404 from
``auth.authenticate``), ``IsAuthenticated`` (401), the plan throttle (429), the view's own
``initial`` checks (405/403), then the handler (405 when the view has none for the method).
Every answer of a DRF view carries ``Allow`` (the view's methods, in Django's order, ``HEAD``
with ``GET``, always ``OPTIONS``), and a 401 carries ``WWW-Authenticate: Bearer``.
``/_sandbox/...`` is the control API (``control.py``), not part of the real server.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from reconciler.sandbox.common.faults import DropConnections, dropped
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
from reconciler.sandbox.phase.faults import Faults, applies
from reconciler.sandbox.phase.store import Store
from reconciler.sandbox.phase.wire import ApiError, internal_error, not_allowed

NOT_FOUND_HTML = (
    '\n<!doctype html>\n<html lang="en">\n<head>\n  <title>Not Found</title>\n</head>\n<body>\n'
    "  <h1>Not Found</h1><p>The requested resource was not found on this server.</p>\n"
    "</body>\n</html>\n"
)
ROOT_MESSAGE = (
    "API is alive. Please see https://docs.phase.dev/public-api for documentation on available "
    "endpoints."
)
VERSION = "v2.73.2"

PUBLIC_VIEWS: dict[str, View] = {
    **routes_secrets.VIEWS,
    **routes_apps.VIEWS,
    **routes_service_accounts.VIEWS,
    **routes_roles.VIEWS,
    **routes_members.VIEWS,
    **routes_teams.VIEWS,
}
ROOT_ROUTES = ("health/", "secrets/tokens/", "graphql/", "auth/password/login/")
# Django's View.http_method_names, the order DRF lists a view's methods in ``Allow``.
METHOD_ORDER = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE")
# ``@api_view(["GET"])`` function views (health/, secrets/tokens/): GET and OPTIONS; the real
# server lists them in set order, which varies between its processes.
FUNCTION_VIEW_ALLOW = "GET, OPTIONS"


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
class Runtime:
    """Mutable server-side context: the store, plan, throttle windows, faults and counters."""

    store: Store
    rate_limit: int | None = None
    faults: Faults = field(default_factory=Faults)
    counters: Counter[str] = field(default_factory=Counter)
    windows: dict[str, deque[float]] = field(default_factory=dict)
    # the console's session cookie is marked Secure, as a real server (behind HTTPS) marks it
    secure_cookie: bool = False

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
    path = path[1:]  # one slash only: Django resolves "//v1/apps/" to nothing
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


def allow(view: View) -> str:
    """DRF's ``Allow`` for a class-based view: its methods, ``HEAD`` with ``GET``, ``OPTIONS``."""
    methods = set(view.handlers) | {"OPTIONS"} | ({"HEAD"} if "GET" in view.handlers else set())
    return ", ".join(m for m in METHOD_ORDER if m in methods)


def drf_answer(serve: Callable[[], Response], allowed: str) -> Response:
    """An answer as DRF's ``finalize_response`` sends it: ``Allow`` on every answer,
    ``WWW-Authenticate`` on a 401 (an error stays an ``ApiError``, rendered by ``_answer``)."""
    extra = {"Allow": allowed}
    try:
        response = serve()
    except ApiError as exc:
        exc.headers |= extra | ({"WWW-Authenticate": "Bearer"} if exc.status == 401 else {})
        raise
    response.headers.update(extra)
    if response.status_code == 401:
        response.headers["WWW-Authenticate"] = "Bearer"
    return response


def serve_v1(runtime: Runtime, request: Incoming) -> Response:
    """The DRF pipeline for a public v1 view (see the module docstring)."""
    found = match(request.path)
    assert found is not None
    _pattern, view, kwargs = found
    return drf_answer(lambda: _serve_view(runtime, request, view, kwargs), allow(view))


def _serve_view(
    runtime: Runtime, request: Incoming, view: View, kwargs: dict[str, str]
) -> Response:
    fmt = request.params.get("format")
    if fmt is not None and fmt != "json":  # the only renderer's format
        raise ApiError(404, "Not found.")
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
        hit = applies(runtime.faults, request.method, name, request.body)
        faults = runtime.faults if hit else Faults()
        faults.seen += 1
        if faults.drops > 0:
            faults.drops -= 1
            return dropped()
        if faults.errors > 0 or (faults.error_every and faults.seen % faults.error_every == 0):
            faults.errors = max(0, faults.errors - 1)
            raise ApiError(faults.error_status, "Internal server error.")
        if faults.throttle > 0:
            faults.throttle -= 1
            raise throttled(faults.retry_after)
        if name == "health/" and request.method == "HEAD":
            raise internal_error()  # recorded on a real server
        if name == "health/":
            health = JSONResponse({"status": "alive", "version": VERSION})
            response: Response = drf_answer(lambda: health, FUNCTION_VIEW_ALLOW)
        elif name == "(root)":
            response = JSONResponse({"message": ROOT_MESSAGE, "status": "ok"})
        elif name == "secrets/tokens/":
            response = drf_answer(lambda: serve_tokens(runtime, request), FUNCTION_VIEW_ALLOW)
        elif name in extras:
            response = extras[name](runtime, request)
        else:
            response = serve_v1(runtime, request)
        if faults.lost > 0:
            faults.lost -= 1
            return dropped()
        return response


Control = Callable[[str, str, bytes, str | None], Response]


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
