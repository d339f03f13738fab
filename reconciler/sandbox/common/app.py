"""The catch-all ASGI app every provider sandbox serves, and the error handling around its
views: ``/health/`` answers at once; ``/_sandbox/`` goes to the control API; extra mounts
(e.g. a fake third-party service) go to their handler; everything else is an API request,
delayed by ``Faults.latency_ms`` and answered by the sandbox's ``answer``. Injected drops
close the connection (``DropConnections``)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from reconciler.sandbox.common.faults import DropConnections, Faults
from reconciler.sandbox.common.wire import ApiError

Control = Callable[[str, str, bytes], Response]
Answer = Callable[[Request, bytes], Response]


def build_app(
    *,
    faults: Callable[[], Faults],
    answer: Answer,
    control: Control,
    latency_label: Callable[[Request], str],
    mounts: Mapping[str, Answer] | None = None,
) -> Any:
    """The ASGI app (see the module docstring). ``faults`` gives the live fault counters;
    a latency applies to a request when ``only`` is in ``latency_label(request)``; ``answer``
    and the ``mounts`` (path prefix -> handler) run in the thread pool."""
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    extra = dict(mounts or {})

    @app.api_route("/{full_path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    async def serve(request: Request, full_path: str) -> Response:
        raw = await request.body()
        path = request.url.path
        if path == "/health/":
            return JSONResponse({"status": "ok"})
        if path.startswith("/_sandbox/"):
            return await run_in_threadpool(control, request.method, path, raw)
        for prefix, handler in extra.items():
            if path.startswith(prefix):
                return await run_in_threadpool(handler, request, raw)
        live = faults()
        if live.latency_ms and live.only in latency_label(request):
            await asyncio.sleep(live.latency_ms / 1000)
        return await run_in_threadpool(answer, request, raw)

    return DropConnections(app)


def answering(
    handle: Callable[[Request, bytes], Response], log: logging.Logger, what: str, message: str
) -> Answer:
    """``handle`` with its ``ApiError`` sent as the answer and any other exception logged on
    ``log`` (naming ``what``) and answered 500 ``{"detail": message}`` (the server's words for
    its unhandled error)."""

    def answer(request: Request, raw: bytes) -> Response:
        try:
            return handle(request, raw)
        except ApiError as exc:
            return exc.response()
        except Exception:
            log.exception("%s: unhandled error", what)
            return JSONResponse({"detail": message}, 500)

    return answer


def controlling(control: Control, bad: Callable[[str], ApiError] | None = None) -> Control:
    """``control`` with its ``ApiError`` sent as the answer; with ``bad``, a malformed control
    request (``KeyError``, ``TypeError``, ``ValueError``) is answered ``bad(message)``."""

    def safely(method: str, path: str, raw: bytes) -> Response:
        try:
            return control(method, path, raw)
        except ApiError as exc:
            return exc.response()
        except (KeyError, TypeError, ValueError) as exc:
            if bad is None:
                raise
            return bad(f"sandbox: bad control request ({type(exc).__name__})").response()

    return safely
