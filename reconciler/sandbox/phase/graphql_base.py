"""What the sandbox's GraphQL resolvers share (``graphql.py`` dispatches to them): the error a
resolver raises, and look-ups and checks of apps, principals and ``EnvironmentKeyInput``
entries, with graphene's messages."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from reconciler.sandbox.phase import keys
from reconciler.sandbox.phase.access import can_access_app, role_permissions
from reconciler.sandbox.phase.store import Row, Store, now


class GraphQLError(Exception):
    """A resolver error: rendered in ``errors`` with the root field set to null."""


Resolver = Callable[[Store, Row, dict[str, Any]], dict[str, Any]]


def app_row(store: Store, app_id: Any) -> Row:
    app = store.table("apps").get(str(app_id))
    if app is None:
        raise GraphQLError("App matching query does not exist.")
    return app


def require_app_access(store: Store, member: Row, app: Row) -> None:
    if not can_access_app(store, "user", member, app):
        raise GraphQLError("You don't have access to this app")


def role_json(store: Store, role_id: str | None) -> Row | None:
    role = store.table("roles").get(role_id or "")
    if role is None:
        return None
    perms = {k: v for k, v in role_permissions(role).items() if k != "meta"}
    return {
        "id": role["id"],
        "name": role["name"],
        "description": role["description"],
        "color": role["color"],
        "permissions": json.dumps(perms),
    }


def principal_of(store: Store, variables: dict[str, Any]) -> tuple[str, Row]:
    """``(kind, row)`` of ``memberId``/``memberType``."""
    kind = "service" if variables.get("memberType") == "SERVICE" else "user"
    table = "service_accounts" if kind == "service" else "members"
    row = store.active(table, variables.get("memberId"))
    if row is None:
        what = "ServiceAccount" if kind == "service" else "OrganisationMember"
        raise GraphQLError(f"{what} matching query does not exist.")
    return kind, row


def env_key_inputs(store: Store, app: Row, env_keys: Any) -> list[tuple[Row, dict[str, Any]]]:
    """``EnvironmentKeyInput`` entries, checked: an env of this app and ``ph:v1`` values."""
    out = []
    for raw in env_keys or []:
        if not isinstance(raw, dict):
            raise GraphQLError("Invalid EnvironmentKeyInput")
        env = store.table("environments").get(str(raw.get("envId")))
        if env is None or env["app_id"] != app["id"]:
            raise GraphQLError("Environment matching query does not exist.")
        for field in ("wrappedSeed", "wrappedSalt"):
            if not re.match(r"^ph:v1:[0-9a-fA-F]{64}:.+", str(raw.get(field) or "")):
                raise GraphQLError(f"Invalid {field}: not a ph:v1 ciphertext")
        out.append((env, raw))
    return out


def upsert_key(store: Store, env: Row, kind: str, principal_id: str, raw: dict[str, Any]) -> None:
    """``_upsert_active_env_key`` + an INDIVIDUAL grant."""
    key = store.find_key(env["id"], kind, principal_id)
    wrapped = (str(raw["wrappedSeed"]), str(raw["wrappedSalt"]))
    if key is not None:
        key["wrapped_seed"], key["wrapped_salt"] = wrapped
        key["identity_key"] = str(raw.get("identityKey") or env["identity_key"])
        key["updated_at"] = now()
    keys.ensure_key(store, env, kind, principal_id, keys.INDIVIDUAL, wrapped)


def app_json(app: Row) -> Row:
    return {"id": app["id"], "name": app["name"], "sseEnabled": app["sse_enabled"]}
