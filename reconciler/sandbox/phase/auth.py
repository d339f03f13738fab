"""Who is calling, and what their role lets them do (contracts/phase.md §2, §4)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from reconciler.sandbox.phase.roles import DEFAULTS, default_permissions
from reconciler.sandbox.phase.store import Row, Store
from reconciler.sandbox.phase.wire import ApiError


@dataclass(frozen=True)
class Caller:
    """An authenticated principal: ``kind`` is "user" or "service"."""

    kind: str
    row: Row
    role: Row | None

    @property
    def id(self) -> str:
        return str(self.row["id"])

    @property
    def throttle_key(self) -> str:
        return f"{'user' if self.kind == 'user' else 'sa'}_{self.id}"


def role_permissions(role: Row | None) -> dict[str, Any]:
    """``{permissions, app_permissions, global_access}`` of a role (defaults from code)."""
    if role is None:
        return {"permissions": {}, "app_permissions": {}, "global_access": False}
    if role["is_default"] and role["name"].capitalize() in DEFAULTS:
        return default_permissions(role["name"].capitalize())
    stored: dict[str, Any] = role.get("permissions") or {}
    return {
        "permissions": stored.get("permissions", {}),
        "app_permissions": stored.get("app_permissions", {}),
        "global_access": bool(stored.get("global_access", False)),
    }


def global_access(role: Row | None) -> bool:
    if role is None:
        return False
    if role["name"].lower() in ("owner", "admin"):
        return True
    return bool(role_permissions(role)["global_access"])


def _instant(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def authenticate(store: Store, header: str | None) -> Caller:
    """Resolve the ``Authorization`` header (``PhaseTokenAuthentication``)."""
    if not header:
        raise ApiError(401, "Authentication credentials were not provided.")
    parts = header.split(" ")
    if len(parts) < 3 or parts[0].lower() != "bearer":
        raise ApiError(401, "Invalid token")
    kind_word, token = parts[1], parts[2]
    if kind_word == "Service":
        raise ApiError(401, "Service tokens require an environment context")
    kinds = {"User": "user", "ServiceAccount": "service"}
    if kind_word not in kinds:
        raise ApiError(401, "Invalid token")
    kind = kinds[kind_word]
    found = next(
        (
            t
            for t in store.table("tokens").values()
            if t["kind"] == kind and t["token"] == token and t["deleted_at"] is None
        ),
        None,
    )
    stamp = datetime.datetime.now(datetime.UTC)
    if found is not None and found["expires_at"] and _instant(found["expires_at"]) <= stamp:
        found = None
    if found is None:
        raise ApiError(401, "Token expired or deleted")
    table = "members" if kind == "user" else "service_accounts"
    row = store.table(table).get(found["owner_id"])
    if row is None or row["deleted_at"] is not None:
        if kind == "user":
            raise ApiError(404, "User not found")
        raise ApiError(401, "Token expired or deleted")
    return Caller(kind, row, store.table("roles").get(row["role_id"] or ""))


def can_access_app(store: Store, kind: str, principal: Row, app: Row) -> bool:
    """Individual membership, or a team of the principal that has an env of the app."""
    if app["id"] in principal["apps"]:
        return True
    app_envs = {e["id"] for e in store.envs_of_app(app["id"])}
    return any(
        team["deleted_at"] is None
        and {"kind": kind, "id": principal["id"]} in team["members"]
        and app_envs & set(team["envs"])
        for team in store.table("teams").values()
    )


def has_permission(
    store: Store, caller: Caller, action: str, resource: str, app: Row | None = None
) -> bool:
    """``user_has_permission``: the org role, or with ``app`` the union of the individual path
    (org role) and the team path (team role override, else the org role)."""
    if app is None:
        perms = role_permissions(caller.role)["permissions"]
        return action in perms.get(resource, [])
    roles: list[Row | None] = []
    if app["id"] in caller.row["apps"]:
        roles.append(caller.role)
    app_envs = {e["id"] for e in store.envs_of_app(app["id"])}
    for team in store.table("teams").values():
        member = {"kind": caller.kind, "id": caller.id} in team["members"]
        if team["deleted_at"] is None and member and app_envs & set(team["envs"]):
            override = team["member_role_id"] if caller.kind == "user" else team["sa_role_id"]
            roles.append(store.table("roles").get(override) if override else caller.role)
    if not roles:
        roles.append(caller.role)
    # /v1/apps/{id}/ checks the top-level map with app context; env and secret views the app map.
    section = "permissions" if resource == "Apps" else "app_permissions"
    return any(action in role_permissions(r)[section].get(resource, []) for r in roles)


def require(
    store: Store, caller: Caller, action: str, resource: str, app: Row | None = None
) -> None:
    if not has_permission(store, caller, action, resource, app):
        raise ApiError(403, f"You don't have permission to {action} {resource}.")
