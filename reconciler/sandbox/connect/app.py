"""The Connect sandbox's HTTP app: authentication, faults, counters, the invite queue.

Routes: the automation API under ``/api/`` (``automation.py``), the data-export API under
``/export/`` (``export.py``), the control API under ``/_sandbox/`` (``control.py``) and
``/health/``.

Authentication (``oauth2_provider`` ``OAuth2Authentication``): ``Authorization: Bearer
<token>``; a missing, unknown or expired token is unauthenticated (401, DRF's ``Authentication
credentials were not provided.``). The automation views check only ``IsAuthenticated`` plus
their organisation-admin rules; the export views also need the ``export`` scope
(``TokenHasScope``: 403 without it).

Invites are processed by a Celery task after the answer (``add_connect_users``): the sandbox
queues them and runs the queue before the next API request is served, which is what a client
observes of a prompt worker.
"""

from __future__ import annotations

import asyncio
import datetime
import hashlib
import hmac
import json
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from reconciler.sandbox.connect.store import Row, Store
from reconciler.sandbox.connect.wire import ApiError, Faults, Router, denied, unauthenticated

DROP_HEADER = "x-sandbox-drop"


@dataclass
class Runtime:
    store: Store
    faults: Faults = field(default_factory=Faults)
    counters: Counter[str] = field(default_factory=Counter)


@dataclass
class Call:
    """What a view sees of one request."""

    runtime: Runtime
    path: dict[str, str]
    params: dict[str, str]
    body: Any
    url: str  # absolute URL of the path, without the query (for ``next`` links)
    user: Row
    scopes: list[str]
    version: str | None

    @property
    def store(self) -> Store:
        return self.runtime.store

    def need_scope(self, scope: str) -> None:
        if scope not in self.scopes:
            raise denied()


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _user(store: Store, header: str | None) -> tuple[Row, list[str]]:
    scheme, _, token = (header or "").partition(" ")
    if scheme != "Bearer" or not token.strip():
        raise unauthenticated()
    digest = token_digest(token.strip())
    stamp = datetime.datetime.now(datetime.UTC).isoformat()
    for row in store.table("tokens").values():
        if hmac.compare_digest(row["hash"], digest) and row["expires"] > stamp:
            user = store.get("users", row["user"])
            if user is not None:
                return user, list(row["scopes"])
    raise unauthenticated()


def _version(accept: str | None) -> str | None:
    """``AcceptHeaderVersioning``: ``application/json; version=2.0`` -> ``"2.0"``."""
    for part in (accept or "").split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key == "version":
            return value.strip()
    return None


def handle(runtime: Runtime, router: Router, request: Request, raw: bytes) -> Response:
    """Serve one API request: faults first, then the invite queue, authentication, the view."""
    from reconciler.sandbox.connect.automation import run_invite_tasks

    template, handler, kwargs = router.find(request.method, request.url.path)
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
        if run_invite_tasks(store):
            store.save()
        user, scopes = _user(store, request.headers.get("authorization"))
        call = Call(
            runtime,
            kwargs,
            dict(request.query_params),
            _parse(raw, request.headers.get("content-type")),
            str(request.url).split("?")[0],
            user,
            scopes,
            _version(request.headers.get("accept")),
        )
        response: Response = handler(call)
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


def build_app(runtime: Runtime, router: Router, control: Control) -> Any:
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
        logging.getLogger(__name__).exception("connect sandbox: unhandled error")
        return JSONResponse({"detail": "A server error occurred."}, 500)


def _safely(control: Control, method: str, path: str, raw: bytes) -> Response:
    try:
        return control(method, path, raw)
    except ApiError as exc:
        return exc.response()
    except (KeyError, TypeError, ValueError) as exc:
        return ApiError(400, f"sandbox: bad control request ({type(exc).__name__})").response()


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
