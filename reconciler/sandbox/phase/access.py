"""Authorisation predicates (docs/phase-api.md#permissions; ``api/utils/access/permissions.py``).

Default roles take their permissions from code (``roles.DEFAULT_ROLES``, looked up by
``name.capitalize()``); custom roles from their stored JSON. App-contextualised checks take the
union of the individual path (org role, when the principal is in the app's member list) and each
team path (team role override, or the org role when unset or for the team owner).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from reconciler.sandbox.phase.roles import DEFAULT_ROLES

if TYPE_CHECKING:
    from reconciler.sandbox.phase.store import Row, Store


def role_permissions(role: Row | None) -> dict[str, Any]:
    """The permission dict a role is checked against."""
    if role is None:
        return {}
    if role["is_default"]:
        found: dict[str, Any] = DEFAULT_ROLES.get(str(role["name"]).capitalize(), {})
        return found
    stored: dict[str, Any] = role.get("permissions") or {}
    return stored


def role_has_permission(
    role: Row | None, action: str, resource: str, is_app_resource: bool = False
) -> bool:
    if role is None:
        return False
    section = role_permissions(role).get("app_permissions" if is_app_resource else "permissions")
    return action in ((section or {}).get(resource) or [])


def role_has_global_access(role: Row | None) -> bool:
    return role is not None and bool(role_permissions(role).get("global_access", False))


def principal_teams(store: Store, kind: str, principal_id: str) -> list[Row]:
    """Non-deleted teams the principal is a member of."""
    ref = {"kind": kind, "id": principal_id}
    return [
        t for t in store.table("teams").values() if t["deleted_at"] is None and ref in t["members"]
    ]


def _team_reaches(store: Store, team: Row, app_id: str) -> bool:
    envs = store.table("environments")
    return any((envs.get(e) or {}).get("app_id") == app_id for e in team["envs"])


def can_access_app(store: Store, kind: str, principal: Row, app: Row) -> bool:
    """``user_can_access_app`` / ``service_account_can_access_app``: individual membership, or
    a team of the principal whose scope has an environment of the app. No global shortcut."""
    if principal.get("deleted_at") is not None:
        return False
    if app["id"] in principal["apps"]:
        return True
    return any(
        _team_reaches(store, t, app["id"]) for t in principal_teams(store, kind, principal["id"])
    )


def can_access_env(store: Store, kind: str, principal_id: str, env_id: str) -> bool:
    """An active ``EnvironmentKey`` exists for (env, principal)."""
    return store.find_key(env_id, kind, principal_id) is not None


def has_permission(
    store: Store,
    kind: str,
    principal: Row,
    action: str,
    resource: str,
    is_app_resource: bool = False,
    app: Row | None = None,
) -> bool:
    """``user_has_permission``."""
    role = store.role_of(principal)
    if app is None:
        return role_has_permission(role, action, resource, is_app_resource)
    if app["id"] in principal["apps"] and role_has_permission(
        role, action, resource, is_app_resource
    ):
        return True
    for team in principal_teams(store, kind, principal["id"]):
        if not _team_reaches(store, team, app["id"]):
            continue
        override = team["member_role_id"] if kind == "user" else team["sa_role_id"]
        team_role = store.table("roles").get(override or "")
        is_owner = kind == "user" and team["owner_id"] == principal["id"]
        effective = role if team_role is None or is_owner else team_role
        if role_has_permission(effective, action, resource, is_app_resource):
            return True
    return False
