"""Response shapes of the v1 views (snake_case here; ``wire.ok`` camelizes them), with the
key sets and orders of docs/phase-api.md#endpoints and the recorded transcript."""

from __future__ import annotations

from typing import Any

from reconciler.sandbox.phase.roles import default_description, default_permissions
from reconciler.sandbox.phase.store import Row, Store
from reconciler.sandbox.phase.wire import jsonb


def app_json(app: Row) -> Row:
    keys = ("id", "name", "description", "sse_enabled", "created_at", "updated_at")
    return {k: app[k] for k in keys}


def env_json(env: Row) -> Row:
    keys = ("id", "name", "env_type", "index", "created_at", "updated_at")
    return {k: env[k] for k in keys}


def role_ref(store: Store, role_id: str | None) -> Row | None:
    role = store.table("roles").get(role_id or "")
    return None if role is None else {"id": role["id"], "name": role["name"]}


def role_json(role: Row, include_permissions: bool = False) -> Row:
    """``_serialize_role``: default roles take description and permissions from code."""
    default = role["is_default"] and default_permissions(role["name"]) is not None
    data: Row = {
        "id": role["id"],
        "name": role["name"],
        "description": default_description(role["name"]) if default else role["description"],
        "color": role["color"],
        "is_default": role["is_default"],
        "created_at": role["created_at"],
    }
    if include_permissions:
        perms: Any = default_permissions(role["name"]) if default else role["permissions"]
        data["permissions"] = perms if default else jsonb(perms)
    return data


def member_json(store: Store, member: Row) -> Row:
    return {
        "id": member["id"],
        "username": member["email"],
        "full_name": member["full_name"] or None,
        "email": member["email"],
        "role": role_ref(store, member["role_id"]),
        "created_at": member["created_at"],
        "updated_at": member["updated_at"],
    }


def access_apps(store: Store, kind: str, principal: Row) -> list[Row]:
    """Apps of the principal's individual M2M (newest first), each with every env the
    principal holds a key for, individual or team granted (docs/phase-api.md#service-accounts,
    #members), in no fixed order."""
    apps = store.table("apps")
    envs = store.table("environments")
    listed = sorted(
        (apps[a] for a in principal["apps"] if a in apps),
        key=lambda a: a["created_at"],
        reverse=True,
    )
    keys = store.keys_of(kind, principal["id"])
    out = []
    for app in listed:
        rows = [envs[k["environment_id"]] for k in keys if k["environment_id"] in envs]
        out.append(
            {
                "id": app["id"],
                "name": app["name"],
                "environments": store.order(
                    {"id": e["id"], "name": e["name"], "env_type": e["env_type"]}
                    for e in rows
                    if e["app_id"] == app["id"]
                ),
            }
        )
    return out


def member_access(store: Store, member: Row) -> Row:
    return member_json(store, member) | {"apps": access_apps(store, "user", member)}


def sa_json(store: Store, sa: Row) -> Row:
    return {
        "id": sa["id"],
        "name": sa["name"],
        "role": role_ref(store, sa["role_id"]),
        "created_at": sa["created_at"],
        "updated_at": sa["updated_at"],
    }


def token_json(token: Row) -> Row:
    return {k: token[k] for k in ("id", "name", "created_at", "expires_at")}


def sa_detail(store: Store, sa: Row) -> Row:
    tokens = [
        t
        for t in store.table("tokens").values()
        if t["kind"] == "service" and t["owner_id"] == sa["id"] and t["deleted_at"] is None
    ]
    tokens.sort(key=lambda t: t["created_at"], reverse=True)
    return sa_json(store, sa) | {
        "tokens": [token_json(t) for t in tokens],
        "apps": access_apps(store, "service", sa),
    }


def invite_json(store: Store, invite: Row) -> Row:
    return {
        "id": invite["id"],
        "invitee_email": invite["email"],
        "role": role_ref(store, invite["role_id"]),
        "invited_by": invite["invited_by"],
        "created_at": invite["created_at"],
        "expires_at": invite["expires_at"],
        "valid": invite["valid"],
    }


def team_json(store: Store, team: Row) -> Row:
    owner = store.table("members").get(team["owner_id"] or "")
    return {
        "id": team["id"],
        "name": team["name"],
        "description": team["description"],
        "is_scim_managed": team["is_scim_managed"],
        "member_role": role_ref(store, team["member_role_id"]),
        "service_account_role": role_ref(store, team["sa_role_id"]),
        "owner": None if owner is None else {"id": owner["id"], "email": owner["email"]},
        "created_at": team["created_at"],
        "updated_at": team["updated_at"],
    }


def team_detail(store: Store, team: Row) -> Row:
    members: list[Row] = []
    for ref in team["members"]:
        row = store.principal(ref["kind"], ref["id"])
        if row is None:
            continue
        if ref["kind"] == "user":
            members.append(
                {
                    "type": "user",
                    "id": row["id"],
                    "email": row["email"],
                    "full_name": row["full_name"] or "",
                }
            )
        else:
            members.append({"type": "service_account", "id": row["id"], "name": row["name"]})
    grouped: dict[str, Row] = {}
    envs, apps = store.table("environments"), store.table("apps")
    for env_id in store.order(team["envs"]):
        env = envs.get(env_id)
        if env is None:
            continue
        app = apps[env["app_id"]]
        entry = grouped.setdefault(
            app["id"], {"id": app["id"], "name": app["name"], "environments": []}
        )
        entry["environments"].append({"id": env["id"], "name": env["name"]})
    # memberships and access rows are read without ORDER BY on the real server
    apps_of_team = list(grouped.values())
    return team_json(store, team) | {"members": store.order(members), "apps": apps_of_team}
