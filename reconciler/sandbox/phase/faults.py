"""Injected faults of the sandbox (test hooks, not part of the real server): the counters
(``Faults``) and which requests they apply to. The dropped answer and the ASGI wrapper that
drops a connection without an answer are the sandboxes' shared ones (``common.faults``); the
counters are Phase's own (``error_every``, GraphQL operation labels, DRF's singular
``1 second`` in a throttle message)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from reconciler.sandbox.common.faults import quiet_drops

quiet_drops()  # an injected drop is the point of the fault, not an error to log


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
