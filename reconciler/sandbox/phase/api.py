"""The sandbox's ASGI application: routing, authentication, throttling, faults and counters.

Routing is a table of path patterns (relative to the API root, trailing slash included) with
a view per method, because the Phase server's routing quirks matter to clients:

* ``/v1/...``, ``/public/v1/...`` and the same under ``/service`` all route the same way;
* a path without its trailing slash is a 404 with Django's HTML page, not a redirect;
* a method the route lacks is 405 ``{"error": "Method \\"X\\" not allowed."}`` (after
  authentication, as DRF does);
* the throttle runs after authentication and before the view, per principal.

``/_sandbox/...`` is the control API (``control.py``); it is not part of the real server.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from reconciler.sandbox.phase import views as v
from reconciler.sandbox.phase.auth import Caller, authenticate
from reconciler.sandbox.phase.store import Row, Store
from reconciler.sandbox.phase.wire import ApiError

NOT_FOUND_HTML = (
    '<!doctype html>\n<html lang="en">\n<head>\n  <title>Not Found</title>\n</head>\n<body>\n'
    "  <h1>Not Found</h1><p>The requested resource was not found on this server.</p>\n"
    "</body>\n</html>\n"
)
ID = r"(?P<{}>[^/]+)"


@dataclass
class Call:
    """One request as a view sees it."""

    store: Store
    caller: Caller
    token: Row
    params: Any
    body: Any
    path: dict[str, str]


View = Callable[[Call], Response]


def _route(pattern: str) -> re.Pattern[str]:
    names = re.findall(r"\{(\w+)\}", pattern)
    regex = pattern
    for name in names:
        regex = regex.replace("{" + name + "}", ID.format(name))
    return re.compile("^" + regex + "$")


ROUTES: list[tuple[str, dict[str, View]]] = [
    ("v1/apps/", {
        "GET": lambda c: v.list_apps(c.store, c.caller),
        "POST": lambda c: v.create_app(c.store, c.caller, c.body),
    }),
    ("v1/apps/{app_id}/", {
        "GET": lambda c: v.get_app(c.store, c.caller, c.path["app_id"]),
        "PUT": lambda c: v.update_app(c.store, c.caller, c.path["app_id"], c.body),
        "DELETE": lambda c: v.delete_app(c.store, c.caller, c.path["app_id"]),
    }),
    ("v1/environments/", {
        "GET": lambda c: v.list_envs(c.store, c.caller, c.params),
        "POST": lambda c: v.create_env(c.store, c.caller, c.params, c.body),
    }),
    ("v1/environments/{env_id}/", {
        "GET": lambda c: v.get_env(c.store, c.caller, c.path["env_id"], c.params),
        "PUT": lambda c: v.update_env(c.store, c.caller, c.path["env_id"], c.params, c.body),
        "DELETE": lambda c: v.delete_env(c.store, c.caller, c.path["env_id"], c.params),
    }),
    ("v1/secrets/", {
        "GET": lambda c: v.list_secrets(c.store, c.caller, c.params),
        "POST": lambda c: v.write_secrets(c.store, c.caller, c.params, c.body, update=False),
        "PUT": lambda c: v.write_secrets(c.store, c.caller, c.params, c.body, update=True),
    }),
    ("v1/roles/", {
        "GET": lambda c: v.list_roles(c.store, c.caller),
        "POST": lambda c: v.create_role(c.store, c.caller, c.body),
    }),
    ("v1/roles/{role_id}/", {
        "GET": lambda c: v.get_role(c.store, c.caller, c.path["role_id"]),
        "PUT": lambda c: v.update_role(c.store, c.caller, c.path["role_id"], c.body),
        "DELETE": lambda c: v.delete_role(c.store, c.caller, c.path["role_id"]),
    }),
    ("v1/service-accounts/", {
        "GET": lambda c: v.list_sas(c.store, c.caller),
        "POST": lambda c: v.create_sa(c.store, c.caller, c.body),
    }),
    ("v1/service-accounts/{sa_id}/", {
        "GET": lambda c: v.get_sa(c.store, c.caller, c.path["sa_id"]),
        "PUT": lambda c: v.update_sa(c.store, c.caller, c.path["sa_id"], c.body),
        "DELETE": lambda c: v.delete_sa(c.store, c.caller, c.path["sa_id"]),
    }),
    ("v1/service-accounts/{sa_id}/access/", {
        "PUT": lambda c: v.put_sa_access(c.store, c.caller, c.path["sa_id"], c.body),
    }),
    ("v1/service-accounts/{sa_id}/tokens/", {
        "POST": lambda c: v.create_sa_token(c.store, c.caller, c.path["sa_id"], c.body),
    }),
    ("v1/service-accounts/{sa_id}/tokens/{token_id}/", {
        "DELETE": lambda c: v.delete_sa_token(
            c.store, c.caller, c.path["sa_id"], c.path["token_id"]
        ),
    }),
    ("v1/members/", {"GET": lambda c: v.list_members(c.store, c.caller)}),
    ("v1/members/invites/", {
        "GET": lambda c: v.list_invites(c.store, c.caller),
        "POST": lambda c: v.create_invite(c.store, c.caller, c.body),
    }),
    ("v1/members/invites/{invite_id}/", {
        "DELETE": lambda c: v.delete_invite(c.store, c.caller, c.path["invite_id"]),
    }),
    ("v1/members/{member_id}/", {
        "GET": lambda c: v.get_member(c.store, c.caller, c.path["member_id"]),
        "PUT": lambda c: v.update_member(c.store, c.caller, c.path["member_id"], c.body),
        "DELETE": lambda c: v.delete_member(c.store, c.caller, c.path["member_id"]),
    }),
    ("v1/members/{member_id}/access/", {
        "GET": lambda c: v.get_member_access(c.store, c.caller, c.path["member_id"]),
        "PUT": lambda c: v.put_member_access(c.store, c.caller, c.path["member_id"], c.body),
    }),
    ("v1/teams/", {
        "GET": lambda c: v.list_teams(c.store, c.caller),
        "POST": lambda c: v.create_team(c.store, c.caller, c.body),
    }),
    ("v1/teams/{team_id}/", {
        "GET": lambda c: v.get_team(c.store, c.caller, c.path["team_id"]),
        "PUT": lambda c: v.update_team(c.store, c.caller, c.path["team_id"], c.body),
        "DELETE": lambda c: v.delete_team(c.store, c.caller, c.path["team_id"]),
    }),
    ("v1/teams/{team_id}/members/", {
        "POST": lambda c: v.add_team_members(c.store, c.caller, c.path["team_id"], c.body),
    }),
    ("v1/teams/{team_id}/members/{member_id}/", {
        "DELETE": lambda c: v.remove_team_member(
            c.store, c.caller, c.path["team_id"], c.path["member_id"], c.params
        ),
    }),
    ("v1/teams/{team_id}/access/", {
        "PUT": lambda c: v.put_team_access(c.store, c.caller, c.path["team_id"], c.body),
    }),
    ("secrets/tokens/", {"GET": lambda c: v.secrets_tokens(c.store, c.caller, c.token)}),
]  # fmt: skip
COMPILED = [(pattern, _route(pattern), views) for pattern, views in ROUTES]
# Routes that answer 405 before authentication (``http_method_names`` on the view).
EARLY_405 = {"v1/members/", "v1/members/invites/", "v1/members/invites/{invite_id}/"}


@dataclass
class Faults:
    """Injected failures, consumed one per API request (deterministic, for tests)."""

    errors: int = 0
    error_status: int = 503
    throttle: int = 0
    retry_after: int = 1
    latency_ms: int = 0


@dataclass
class Runtime:
    """Mutable server-side context: the store, counters, faults and the throttle windows."""

    store: Store
    rate_limit: int | None = None
    faults: Faults = field(default_factory=Faults)
    counters: Counter[str] = field(default_factory=Counter)
    windows: dict[str, deque[float]] = field(default_factory=dict)

    def throttle(self, key: str) -> None:
        """Sliding one-minute window per principal; 429 with integer ``Retry-After``."""
        if not self.rate_limit:
            return
        window = self.windows.setdefault(key, deque())
        stamp = time.monotonic()
        while window and window[0] <= stamp - 60:
            window.popleft()
        if len(window) >= self.rate_limit:
            wait = max(1, math.ceil(60 - (stamp - window[0])))
            raise ApiError(
                429,
                f"Request was throttled. Expected available in {wait} seconds.",
                {"Retry-After": str(wait)},
            )
        window.append(stamp)


def api_path(raw: str) -> str:
    """The path relative to the API root: ``/service`` and ``/public`` prefixes removed."""
    path = raw
    if path.startswith("/service/") or path == "/service":
        path = path[len("/service") :] or "/"
    if path.startswith("/public/") or path == "/public":
        path = path[len("/public") :] or "/"
    return path.lstrip("/")


def match(path: str) -> tuple[str, dict[str, View], dict[str, str]] | None:
    for pattern, regex, views in COMPILED:
        found = regex.match(path)
        if found:
            return pattern, views, found.groupdict()
    return None


async def _body(request: Request) -> Any:
    raw = await request.body()
    if not raw:
        return {}
    try:
        return json.loads(raw)
    except ValueError:
        raise ApiError(400, "JSON parse error - Expecting value") from None


def handle(
    runtime: Runtime, method: str, path: str, headers: Any, params: Any, body: Any
) -> Response:
    """Serve one API request (everything but the control API)."""
    if path == "":
        return JSONResponse(
            {
                "message": "API is alive. Please see https://docs.phase.dev/public-api for "
                "documentation on available endpoints.",
                "status": "ok",
            }
        )
    if path == "health/":
        return JSONResponse({"status": "alive", "version": "sandbox"})
    found = match(path)
    if found is None:
        return HTMLResponse(NOT_FOUND_HTML, 404)
    pattern, views, groups = found
    runtime.counters[f"{method} /{pattern}"] += 1
    runtime.counters["total"] += 1
    not_allowed = ApiError(405, f'Method "{method}" not allowed.')
    if pattern in EARLY_405 and method not in views:
        raise not_allowed
    faults = runtime.faults
    if faults.latency_ms:
        time.sleep(faults.latency_ms / 1000)
    if faults.errors > 0:
        faults.errors -= 1
        raise ApiError(faults.error_status, "Internal server error.")
    if faults.throttle > 0:
        faults.throttle -= 1
        wait = faults.retry_after
        raise ApiError(
            429,
            f"Request was throttled. Expected available in {wait} seconds.",
            {"Retry-After": str(wait)},
        )
    store = runtime.store
    with store.lock:
        caller = authenticate(store, headers.get("authorization"))
        runtime.throttle(caller.throttle_key)
        if method not in views:
            raise not_allowed
        token = _token_of(store, caller, headers.get("authorization", ""))
        response = views[method](Call(store, caller, token, params, body, groups))
        if method != "GET" and response.status_code < 400:
            store.save()
        return response


def _token_of(store: Store, caller: Caller, header: str) -> Row:
    bearer = header.split(" ")[2]
    return next(
        t
        for t in store.table("tokens").values()
        if t["owner_id"] == caller.id and t["token"] == bearer
    )


def build_app(runtime: Runtime, control: Callable[[str, str, Any], Response]) -> FastAPI:
    """The ASGI app: one catch-all route so the sandbox owns every routing decision."""
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    @app.api_route(
        "/{full_path:path}", methods=["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]
    )
    async def serve(request: Request, full_path: str) -> Response:
        method = request.method
        try:
            if request.url.path.startswith("/_sandbox/"):
                return control(method, request.url.path, await _body(request))
            path = api_path(request.url.path)
            body = await _body(request) if method in ("POST", "PUT") else {}
            return handle(runtime, method, path, request.headers, request.query_params, body)
        except ApiError as exc:
            return exc.response()

    return app
