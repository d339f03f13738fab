"""The GraphQL queries of the sandbox (see ``graphql.py`` for the operations and their
shapes)."""

from __future__ import annotations

from typing import Any

from reconciler.sandbox.phase.access import has_permission
from reconciler.sandbox.phase.graphql_base import (
    GraphQLError,
    app_row,
    principal_of,
    require_app_access,
    role_json,
)
from reconciler.sandbox.phase.store import Row, Store


def organisations(store: Store, member: Row, _v: dict[str, Any]) -> dict[str, Any]:
    role = store.role_of(member)
    return {
        "organisations": [
            {
                "id": store.org["id"],
                "name": store.org["name"],
                "plan": store.plan,
                "createdAt": store.org["created_at"],
                "memberId": member["id"],
                "role": None if role is None else {"id": role["id"], "name": role["name"]},
            }
        ]
    }


def organisation_members(store: Store, member: Row, v: dict[str, Any]) -> dict[str, Any]:
    if v.get("organisationId") != store.org["id"]:
        raise GraphQLError("You don't have access to this organisation")
    wanted = {str(r).lower() for r in v.get("role") or []}
    rows = []
    for m in sorted(store.table("members").values(), key=lambda m: m["created_at"]):
        role = store.role_of(m)
        if m["deleted_at"] is not None:
            continue
        if wanted and (role is None or role["name"].lower() not in wanted):
            continue
        rows.append(
            {
                "id": m["id"],
                "email": m["email"],
                "fullName": m["full_name"],
                "avatarUrl": None,
                "identityKey": m["identity_key"],
                "createdAt": m["created_at"],
                "lastLogin": None,
                "self": m["id"] == member["id"],
                "scimManaged": False,
                "role": role_json(store, m["role_id"]),
            }
        )
    return {"organisationMembers": rows}


def service_accounts(store: Store, member: Row, v: dict[str, Any]) -> dict[str, Any]:
    if v.get("orgId") != store.org["id"]:
        raise GraphQLError("You don't have access to this organisation")
    if not has_permission(store, "user", member, "read", "ServiceAccounts"):
        raise GraphQLError(
            "You don't have the permissions required to read Service Accounts in this organisation"
        )
    rows = []
    for sa in sorted(store.table("service_accounts").values(), key=lambda s: s["created_at"]):
        if sa["deleted_at"] is not None or (v.get("id") and sa["id"] != v["id"]):
            continue
        team = store.table("teams").get(sa["team_id"] or "")
        rows.append(
            {
                "id": sa["id"],
                "name": sa["name"],
                "identityKey": sa["identity_key"],
                "createdAt": sa["created_at"],
                "role": role_json(store, sa["role_id"]),
                "team": None if team is None else {"id": team["id"], "name": team["name"]},
                "handlers": [],
            }
        )
    return {"serviceAccounts": rows}


def app_environments(store: Store, member: Row, v: dict[str, Any]) -> dict[str, Any]:
    app = app_row(store, v.get("appId"))
    sse = {"sseEnabled": app["sse_enabled"], "serverPublicKey": store.server_keypair()[0]}
    if not has_permission(store, "user", member, "read", "Environments", True, app):
        return {"appEnvironments": [], **sse}
    require_app_access(store, member, app)
    kind, target = ("user", member) if v.get("memberId") is None else principal_of(store, v)
    rows = []
    for env in store.envs_of_app(app["id"]):
        if store.find_key(env["id"], kind, target["id"]) is None:
            continue
        own = store.find_key(env["id"], "user", member["id"])
        rows.append(
            {
                "id": env["id"],
                "name": env["name"],
                "envType": env["env_type"].upper(),
                "index": env["index"],
                "identityKey": env["identity_key"],
                "wrappedSeed": None if own is None else own["wrapped_seed"],
                "wrappedSalt": None if own is None else own["wrapped_salt"],
                "createdAt": env["created_at"],
                "app": {"id": app["id"], "name": app["name"]},
            }
        )
    return {"appEnvironments": rows, **sse}


def environment_keys(store: Store, member: Row, v: dict[str, Any]) -> dict[str, Any]:
    if v.get("appId") is None and v.get("environmentId") is None:
        return {"environmentKeys": None}
    if v.get("appId") is not None:
        app = app_row(store, v["appId"])
    else:
        env = store.table("environments").get(str(v["environmentId"]))
        if env is None:
            raise GraphQLError("Environment matching query does not exist.")
        app = store.table("apps")[env["app_id"]]
    require_app_access(store, member, app)
    kind, target = ("user", member) if v.get("memberId") is None else principal_of(store, v)
    teams = store.table("teams")
    rows = []
    for key in store.keys_of(kind, target["id"]):
        env = store.table("environments").get(key["environment_id"])
        if env is None or env["app_id"] != app["id"]:
            continue
        if v.get("environmentId") and env["id"] != v["environmentId"]:
            continue
        grants = []
        for grant in key["grants"]:
            team = teams.get(grant.split(":", 1)[1]) if grant.startswith("team:") else None
            grants.append(
                {
                    "grantType": "TEAM" if team is not None else "INDIVIDUAL",
                    "team": None if team is None else {"id": team["id"], "name": team["name"]},
                }
            )
        rows.append(
            {
                "id": key["id"],
                "identityKey": key["identity_key"],
                "wrappedSeed": key["wrapped_seed"],
                "wrappedSalt": key["wrapped_salt"],
                "createdAt": key["created_at"],
                "environment": {"id": env["id"], "name": env["name"]},
                "grants": grants,
            }
        )
    return {"environmentKeys": rows}


def server_key(store: Store, _m: Row, _v: dict[str, Any]) -> dict[str, Any]:
    return {"serverPublicKey": store.server_keypair()[0]}
