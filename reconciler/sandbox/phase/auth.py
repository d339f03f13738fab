"""Who is calling and in which context: ``PhaseTokenAuthentication``
(docs/phase-api.md#authentication-errors, #request-context; ``api/auth.py``).

``authenticate`` parses ``Authorization: Bearer <Type> <token>``, rejects unknown, expired and
deleted tokens, then resolves the request context exactly as the server does:

1. *environment mode*: a ``secret_id`` header or query parameter, an ``Environment`` header, or
   ``?app_id=&env=<name>`` (name matched case-insensitively); headers are ignored when the URL
   names an app or an environment;
2. *app mode*: ``?app_id=`` alone (it wins over the URL), else the URL's ``env_id`` or
   ``app_id``;
3. *org mode*: anything else.

and checks the caller's access to that app or environment (users 403, service accounts 401).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from reconciler.crypto import primitives as p
from reconciler.sandbox.phase.access import can_access_app, can_access_env
from reconciler.sandbox.phase.store import Row, Store, now
from reconciler.sandbox.phase.wire import ApiError, parse_instant, query

TOKEN_TYPES = ("User", "Service", "ServiceAccount")


@dataclass
class Caller:
    """An authenticated principal: ``kind`` is "user" or "service"."""

    kind: str
    row: Row
    token: Row

    @property
    def id(self) -> str:
        return str(self.row["id"])

    @property
    def is_user(self) -> bool:
        return self.kind == "user"

    @property
    def throttle_key(self) -> str:
        return f"{'user' if self.is_user else 'sa'}_{self.id}"


@dataclass
class Auth:
    """``request.auth``: the caller and the resolved context."""

    caller: Caller
    app: Row | None = None
    env: Row | None = None
    org_only: bool = False


def parse_header(header: str | None) -> tuple[str | None, str | None]:
    """``_parse_auth_token``: ``(type, token)`` or ``(None, None)`` when malformed."""
    if not header:
        return None, None
    parts = header.split(" ")
    if len(parts) < 3 or parts[0].lower() != "bearer" or not parts[1] or not parts[2]:
        return None, None
    return parts[1], parts[2]


def live_token(store: Store, token_type: str | None, value: str | None) -> Row | None:
    """The token row, unless missing, soft-deleted or expired."""
    kind = {"User": "user", "ServiceAccount": "service"}.get(token_type or "")
    if kind is None or not value:
        return None
    row = next(
        (t for t in store.table("tokens").values() if t["kind"] == kind and t["token"] == value),
        None,
    )
    if row is None or row["deleted_at"] is not None:
        return None
    if row["expires_at"] and parse_instant(row["expires_at"]) < datetime.datetime.now(datetime.UTC):
        return None
    return row


def _context(
    store: Store, headers: Any, params: Any, url_kwargs: dict[str, str]
) -> tuple[Row | None, Row | None, bool]:
    """``(app, env, org_only)`` of the request."""
    apps, envs = store.table("apps"), store.table("environments")
    url_has_target = bool(url_kwargs.get("app_id") or url_kwargs.get("env_id"))
    env: Row | None = None
    secret_id = None if url_has_target else (headers.get("secret_id") or query(params, "secret_id"))
    if secret_id:
        secret = store.table("secrets").get(secret_id)
        if secret is None:
            raise ApiError(404, "Secret not found")
        env = envs.get(secret["environment_id"])
    if env is None:
        env_header = None if url_has_target else headers.get("environment")
        if env_header:
            env = envs.get(env_header)
            if env is None:
                raise ApiError(401, "Environment not found")
        else:
            app_id, env_name = query(params, "app_id"), query(params, "env")
            if app_id and env_name:
                env = next(
                    (e for e in store.envs_of_app(app_id) if e["name"].lower() == env_name.lower()),
                    None,
                )
                if env is None:
                    if app_id not in apps:
                        raise ApiError(404, f"App with ID {app_id} not found")
                    raise ApiError(404, f"Environment '{env_name}' not found in App {app_id}")
            elif app_id:
                if app_id not in apps:
                    raise ApiError(404, f"App with ID {app_id} not found")
                return apps[app_id], None, False
            elif url_kwargs.get("env_id"):
                found = envs.get(url_kwargs["env_id"])
                if found is None:
                    raise ApiError(404, "Environment not found")
                return apps[found["app_id"]], None, False
            elif url_kwargs.get("app_id"):
                if url_kwargs["app_id"] not in apps:
                    raise ApiError(404, f"App with ID {url_kwargs['app_id']} not found")
                return apps[url_kwargs["app_id"]], None, False
            else:
                return None, None, True
    assert env is not None
    return apps[env["app_id"]], env, False


def authenticate(
    store: Store, headers: Any, params: Any, url_kwargs: dict[str, str]
) -> Auth | None:
    """The caller and context, None without an ``Authorization`` header; raises the server's
    401/403/404 answers otherwise."""
    header = headers.get("authorization")
    if not header:
        return None
    token_type, value = parse_header(header)
    if token_type not in TOKEN_TYPES:
        raise ApiError(401, "Invalid token")
    token = live_token(store, token_type, value)
    if token is None:
        raise ApiError(401, "Token expired or deleted")
    app, env, org_only = _context(store, headers, params, url_kwargs)
    if token_type == "User":
        member = store.table("members").get(token["owner_id"])
        if member is None or member["deleted_at"] is not None:
            raise ApiError(404, "User not found")
        caller = Caller("user", member, token)
        if env is not None and not can_access_env(store, "user", member["id"], env["id"]):
            raise ApiError(403, "User cannot access this environment")
        if env is None and app is not None and not can_access_app(store, "user", member, app):
            raise ApiError(403, "User cannot access this app")
    else:
        sa = store.table("service_accounts").get(token["owner_id"])
        if sa is None or sa["deleted_at"] is not None:
            raise ApiError(401, "Token expired or deleted")
        caller = Caller("service", sa, token)
        token["last_used_at"] = now()
        if env is not None and not can_access_env(store, "service", sa["id"], env["id"]):
            raise ApiError(401, "Service account cannot access this environment")
        if env is None and app is not None and not can_access_app(store, "service", sa, app):
            raise ApiError(401, "Service account cannot access this app")
    return Auth(caller, app, env, org_only)


def recover_kx_private(full_token: str, wrapped_key_share: str) -> str:
    """What an SDK does with ``GET /secrets/tokens/``: share A XOR unwrapped share B."""
    parts = full_token.split(":")
    return p.xor_hex(parts[4], p.unwrap_share_hex(wrapped_key_share, parts[5]))
