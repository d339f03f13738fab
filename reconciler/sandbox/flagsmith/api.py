"""The Flagsmith sandbox's HTTP app: routing, API-key authentication, faults and counters.

The API lives under ``/api/v1/``; ``/_sandbox/`` is the control API (``control.py``),
``/_ado/`` the fake Azure DevOps (``ado.py``), ``/health/`` a liveness probe.

Authentication (``MasterAPIKeyAuthentication``): ``Authorization: Api-Key <key>``. No
credentials: 401 ``Authentication credentials were not provided.``; an unknown or revoked key:
401 ``Valid Master API Key not found.``. A key belongs to one organisation; an admin key
(``is_admin``) acts as organisation admin and project admin (``api_keys/user.py``); a
non-admin key holds no role here, so it sees no project and is refused (403) everything else.
Another organisation's routes are 403.

Faults (``Faults``) are consumed by API requests only (never ``/_sandbox/``, ``/_ado/``,
``/health/``), counted per ``METHOD /route`` template.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import re
from collections import Counter
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from reconciler.sandbox.flagsmith.store import Row, Store
from reconciler.sandbox.flagsmith.wire import ApiError, denied, invalid

PREFIX = "/api/v1"
DROP_HEADER = "x-sandbox-drop"


@dataclass
class Faults:
    """Injected failures, deterministic (counters, not chance), each consumed by one API
    request in this order: ``latency_ms`` delays every request; ``drops`` closes the connection
    without processing; ``errors`` answers ``error_status`` without processing; ``throttle``
    answers 429 with ``Retry-After: retry_after``; ``lost`` processes the request, then closes
    the connection. ``only`` limits them to requests whose ``METHOD /route`` contains it."""

    latency_ms: int = 0
    drops: int = 0
    errors: int = 0
    error_status: int = 503
    throttle: int = 0
    retry_after: int = 1
    lost: int = 0
    only: str = ""


@dataclass
class Call:
    """What a view sees of one request."""

    runtime: Runtime
    method: str
    path: dict[str, str]
    params: dict[str, str]
    body: Any
    url: str  # absolute URL of the path, without the query (for page links)
    key: Row

    @property
    def store(self) -> Store:
        return self.runtime.store

    def organisation(self, raw: Any) -> Row:
        """The key's organisation when ``raw`` names it; 403 for another one."""
        org = self.store.get("organisations", raw)
        if org is None or org["id"] != self.key["organisation"]:
            raise denied()
        return org

    def admin(self) -> None:
        if not self.key.get("is_admin"):
            raise denied()


Handler = Callable[[Call], Response]


@dataclass
class Runtime:
    store: Store
    root: str = ""  # http://127.0.0.1:PORT, for the ADO probe
    faults: Faults = field(default_factory=Faults)
    counters: Counter[str] = field(default_factory=Counter)


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _key(store: Store, header: str | None) -> Row:
    scheme, _, key = (header or "").partition(" ")
    if not header:
        raise ApiError(401, "Authentication credentials were not provided.")
    digest = key_digest(key.strip())
    if scheme == "Api-Key":
        for row in store.table("keys").values():
            if hmac.compare_digest(row["hash"], digest) and not row.get("revoked"):
                return row
    raise ApiError(401, "Valid Master API Key not found.")


class Router:
    """``(method, template) -> handler`` with ``{name}`` segments."""

    def __init__(self, routes: list[tuple[str, str, Handler]]) -> None:
        self.routes = [
            (m, t, h, re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", t) + "$"))
            for m, t, h in routes
        ]

    def find(self, method: str, path: str) -> tuple[str, Handler, dict[str, str]]:
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


def handle(runtime: Runtime, router: Router, request: Request, raw: bytes) -> Response:
    """Serve one API request: faults first, then authentication, then the view."""
    path = request.url.path
    if not path.startswith(PREFIX + "/"):
        raise ApiError(404, "Not found.")
    template, handler, kwargs = router.find(request.method, path[len(PREFIX) :])
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
            raise ApiError(faults.error_status, "A server error occurred.")
        if faults.throttle > 0:
            faults.throttle -= 1
            raise ApiError(
                429,
                f"Request was throttled. Expected available in {faults.retry_after} seconds.",
                {"Retry-After": str(faults.retry_after)},
            )
        key = _key(store, request.headers.get("authorization"))
        call = Call(
            runtime,
            request.method,
            kwargs,
            dict(request.query_params),
            _parse(raw, request.headers.get("content-type")),
            str(request.url).split("?")[0],
            key,
        )
        response = handler(call)
        if request.method != "GET" and response.status_code < 400:
            store.save()
        if faults.lost > 0:
            faults.lost -= 1
            return Response(status_code=599, headers={DROP_HEADER: "1"})
        return response


def _parse(raw: bytes, content_type: str | None) -> Any:
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
Ado = Callable[[str, dict[str, str], str | None], Response]


def build_app(runtime: Runtime, router: Router, control: Control, ado: Ado) -> Any:
    """The ASGI app: one catch-all route, wrapped so injected drops close the connection."""
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    @app.api_route("/{full_path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    async def serve(request: Request, full_path: str) -> Response:
        raw = await request.body()
        path = request.url.path
        if path == "/health/":
            return JSONResponse({"status": "ok"})
        if path.startswith("/_sandbox/"):
            return await run_in_threadpool(_safely, control, request.method, path, raw)
        if path.startswith("/_ado/"):
            auth = request.headers.get("authorization")
            return await run_in_threadpool(ado, path, dict(request.query_params), auth)
        if runtime.faults.latency_ms and runtime.faults.only in f"{request.method} {path}":
            await asyncio.sleep(runtime.faults.latency_ms / 1000)
        return await run_in_threadpool(_answer, runtime, router, request, raw)

    return DropConnections(app)


def _answer(runtime: Runtime, router: Router, request: Request, raw: bytes) -> Response:
    try:
        return handle(runtime, router, request, raw)
    except ApiError as exc:
        return exc.response()
    except Exception:
        logging.getLogger(__name__).exception("flagsmith sandbox: unhandled error")
        return JSONResponse({"detail": "A server error occurred."}, 500)


def _safely(control: Control, method: str, path: str, raw: bytes) -> Response:
    try:
        return control(method, path, raw)
    except ApiError as exc:
        return exc.response()
    except (KeyError, TypeError, ValueError) as exc:
        return invalid(f"sandbox: bad control request ({type(exc).__name__})").response()


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
