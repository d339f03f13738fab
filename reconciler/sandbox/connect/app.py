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

import datetime
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
from reconciler.sandbox.common.wire import parse_json
from reconciler.sandbox.connect.store import Row, Store
from reconciler.sandbox.connect.wire import ApiError, Router, denied, unauthenticated


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
    store = runtime.store

    def view() -> Response:
        if run_invite_tasks(store):
            store.save()
        user, scopes = _user(store, request.headers.get("authorization"))
        call = Call(
            runtime,
            kwargs,
            dict(request.query_params),
            parse_json(raw, request.headers.get("content-type")),
            str(request.url).split("?")[0],
            user,
            scopes,
            _version(request.headers.get("accept")),
        )
        response: Response = handler(call)
        return response

    with store.lock:
        return serve(
            runtime, request.method, template, "A server error occurred.", view, store.save
        )


Control = Callable[[str, str, bytes], Response]


def build_app(runtime: Runtime, router: Router, control: Control) -> Any:
    """The ASGI app (``common.app.build_app``)."""
    return common_app.build_app(
        faults=lambda: runtime.faults,
        answer=common_app.answering(
            lambda request, raw: handle(runtime, router, request, raw),
            logging.getLogger(__name__),
            "connect sandbox",
            "A server error occurred.",
        ),
        control=common_app.controlling(control, lambda message: ApiError(400, message)),
        latency_label=lambda request: f"{request.method} {request.url.path}",
    )
