"""The control routes every sandbox serves under ``/_sandbox/`` (test hooks, not part of any
real server), on a runtime that counts requests and holds injected faults:

``GET|DELETE /_sandbox/counters/``     requests per ``METHOD /route`` and ``total``
``GET|POST|DELETE /_sandbox/faults/``  read, set or clear injected faults (``faults.Faults``)

and what ``POST /_sandbox/reset/`` does to them (``reset``).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from reconciler.sandbox.common.faults import Faults, Hooks
from reconciler.sandbox.common.wire import ApiError


def reset(runtime: Hooks) -> None:
    """Forget the counted requests and the injected faults."""
    runtime.counters.clear()
    runtime.faults = Faults()


def route(runtime: Hooks, method: str, parts: list[str], body: Any) -> dict[str, Any] | None:
    """The answer of a shared control route (see the module docstring), or None when
    ``method`` and the path ``parts`` (after ``_sandbox``) name none of them."""
    if parts == ["counters"] and method in ("GET", "DELETE"):
        if method == "DELETE":
            runtime.counters.clear()
        return dict(runtime.counters)
    if parts == ["faults"] and method in ("GET", "POST", "DELETE"):
        if method == "DELETE":
            runtime.faults = Faults()
        if method == "POST":
            runtime.faults = parse_faults(body)
        return dataclasses.asdict(runtime.faults)
    return None


def parse_faults(body: Any) -> Faults:
    """``Faults`` from a control body: an object of known fields, counts as integers (a value
    ``int()`` refuses raises its ``ValueError`` or ``TypeError``), ``only`` as a text."""
    names = {f.name for f in dataclasses.fields(Faults)}
    if not isinstance(body, dict) or set(body) - names:
        raise ApiError(400, f"sandbox: faults are an object with fields {sorted(names)}")
    counts = {k: int(v) for k, v in body.items() if k != "only"}
    return Faults(only=str(body.get("only", "")), **counts)
