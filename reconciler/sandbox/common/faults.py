"""Injected faults of the sandboxes (test hooks, not part of any real server): the counters
(``Faults``), their consumption around one request (``before``, ``after``), and the ASGI
wrapper that drops a connection without an answer (``DropConnections``)."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any, Protocol

from fastapi.responses import Response

from reconciler.sandbox.common.wire import ApiError

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


def dropped() -> Response:
    """A response ``DropConnections`` never sends: the client sees the connection close."""
    return Response(status_code=599, headers={DROP_HEADER: "1"})


def select(faults: Faults, label: str) -> Faults:
    """The faults a request labelled ``METHOD /route`` consumes: ``faults`` when ``only``
    matches it, else none (a fresh ``Faults``)."""
    return faults if faults.only in label else Faults()


def before(faults: Faults, error_message: str) -> Response | None:
    """Consume the faults that stop a request before it is processed: a drop is answered with
    ``dropped()``; an error (``error_status`` with ``error_message``) or a throttle (429 in
    DRF's words, with ``Retry-After``) is raised as ``ApiError``; None lets the request in."""
    if faults.drops > 0:
        faults.drops -= 1
        return dropped()
    if faults.errors > 0:
        faults.errors -= 1
        raise ApiError(faults.error_status, error_message)
    if faults.throttle > 0:
        faults.throttle -= 1
        raise ApiError(
            429,
            f"Request was throttled. Expected available in {faults.retry_after} seconds.",
            {"Retry-After": str(faults.retry_after)},
        )
    return None


def after(faults: Faults, response: Response) -> Response:
    """Consume a ``lost`` fault once the request has been processed: its answer is dropped."""
    if faults.lost > 0:
        faults.lost -= 1
        return dropped()
    return response


class Hooks(Protocol):
    """What the faults and the control routes read and change of a sandbox's runtime."""

    counters: Counter[str]
    faults: Faults


def serve(
    runtime: Hooks,
    method: str,
    template: str,
    error_message: str,
    view: Callable[[], Response],
    save: Callable[[], None],
) -> Response:
    """Serve one API request to ``METHOD template`` under injected faults: count it (and the
    ``total``), consume the faults that stop it (``before``), run ``view``, ``save`` after a
    successful write, then consume a ``lost`` fault (``after``). Call with the store's lock
    held."""
    label = f"{method} {template}"
    runtime.counters[label] += 1
    runtime.counters["total"] += 1
    faults = select(runtime.faults, label)
    stop = before(faults, error_message)
    if stop is not None:
        return stop
    response = view()
    if method != "GET" and response.status_code < 400:
        save()
    return after(faults, response)


Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class DropConnections:
    """ASGI wrapper: a response carrying ``x-sandbox-drop`` is never sent; returning a value
    makes uvicorn close the connection, so the client sees the server disconnect without an
    answer."""

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


def quiet_drops() -> None:
    """Install ``QuietDrops`` on uvicorn's error logger once (idempotent)."""
    log = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, QuietDrops) for f in log.filters):
        log.addFilter(QuietDrops())
