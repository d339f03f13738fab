"""Injected faults of the sandbox (test hooks, not part of the real server): the counters
(``Faults``), which requests they apply to, and the ASGI wrapper that drops a connection
without an answer."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

DROP_HEADER = "x-sandbox-drop"


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


def applies(faults: Faults, method: str, name: str, body: bytes) -> bool:
    """Whether ``faults`` apply to this request (``Faults.only``)."""
    if not faults.only:
        return True
    label = f"{method} /{name}"
    if name == "graphql/":
        try:
            parsed = json.loads(body or b"{}")
        except ValueError:
            parsed = {}
        label += f" {parsed.get('operationName') or ''}" if isinstance(parsed, dict) else ""
    return faults.only in label


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
