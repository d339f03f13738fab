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

import hashlib
import hmac
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from reconciler.sandbox.common import app as common_app
from reconciler.sandbox.common.faults import Faults, serve
from reconciler.sandbox.common.wire import Router as Router
from reconciler.sandbox.common.wire import parse_json
from reconciler.sandbox.flagsmith.store import Row, Store
from reconciler.sandbox.flagsmith.wire import ApiError, denied, invalid

PREFIX = "/api/v1"


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


def handle(runtime: Runtime, router: Router, request: Request, raw: bytes) -> Response:
    """Serve one API request: faults first, then authentication, then the view."""
    path = request.url.path
    if not path.startswith(PREFIX + "/"):
        raise ApiError(404, "Not found.")
    template, handler, kwargs = router.find(request.method, path[len(PREFIX) :])
    store = runtime.store

    def view() -> Response:
        key = _key(store, request.headers.get("authorization"))
        call = Call(
            runtime,
            request.method,
            kwargs,
            dict(request.query_params),
            parse_json(raw, request.headers.get("content-type")),
            str(request.url).split("?")[0],
            key,
        )
        response: Response = handler(call)
        return response

    with store.lock:
        return serve(
            runtime, request.method, template, "A server error occurred.", view, store.save
        )


Control = Callable[[str, str, bytes], Response]
Ado = Callable[[str, dict[str, str], str | None], Response]


def build_app(runtime: Runtime, router: Router, control: Control, ado: Ado) -> Any:
    """The ASGI app (``common.app.build_app``), with the fake Azure DevOps under ``/_ado/``."""

    def serve_ado(request: Request, raw: bytes) -> Response:
        auth = request.headers.get("authorization")
        return ado(request.url.path, dict(request.query_params), auth)

    return common_app.build_app(
        faults=lambda: runtime.faults,
        answer=common_app.answering(
            lambda request, raw: handle(runtime, router, request, raw),
            logging.getLogger(__name__),
            "flagsmith sandbox",
            "A server error occurred.",
        ),
        control=common_app.controlling(control, invalid),
        latency_label=lambda request: f"{request.method} {request.url.path}",
        mounts={"/_ado/": serve_ado},
    )
