"""The GraphQL mutations of the sandbox (see ``graphql.py`` for the operations and their
shapes): app membership with client-wrapped keys, and E2EE environments created, synced,
renamed and deleted with the console's rules and messages."""

from __future__ import annotations

import re
from typing import Any

from reconciler.sandbox.phase import keys
from reconciler.sandbox.phase.access import can_access_app, has_permission, role_has_global_access
from reconciler.sandbox.phase.graphql_base import (
    GraphQLError,
    app_json,
    app_row,
    env_key_inputs,
    principal_of,
    require_app_access,
    upsert_key,
)
from reconciler.sandbox.phase.routes_apps import MAX_ENVS
from reconciler.sandbox.phase.store import Row, Store, new_id, now

GRAPHQL_ENV_NAME = re.compile(r"^[a-zA-Z0-9\-_]{1,32}$")
INVALID_ENV_NAME = (
    "Environment name is invalid! Environment names can only includes letters, numbers, "
    "hyphens and underscores, and must be 32 characters or less."
)
DUPLICATE_ENV_NAME = "An Environment with this name already exists in this App!"


def add_app_member(store: Store, member: Row, v: dict[str, Any]) -> dict[str, Any]:
    app = app_row(store, v.get("appId"))
    kind, target = principal_of(store, v)
    resource = "Members" if kind == "user" else "ServiceAccounts"
    if not has_permission(store, "user", member, "create", resource, True, app):
        raise GraphQLError("You don't have permission to add members to this App")
    require_app_access(store, member, app)
    entries = env_key_inputs(store, app, v.get("envKeys"))
    if app["id"] not in target["apps"]:
        target["apps"].append(app["id"])
    for env, raw in entries:
        upsert_key(store, env, kind, target["id"], raw)
    return {"addAppMember": {"app": app_json(app)}}


def update_member_env_scope(store: Store, member: Row, v: dict[str, Any]) -> dict[str, Any]:
    app = app_row(store, v.get("appId"))
    kind, target = principal_of(store, v)
    resource = "Members" if kind == "user" else "ServiceAccounts"
    if not has_permission(store, "user", member, "update", resource, True, app):
        raise GraphQLError("You don't have permission to update App member access")
    require_app_access(store, member, app)
    if app["id"] not in target["apps"]:
        if kind == "user":
            raise GraphQLError("This user does not have access to this app")
        raise GraphQLError("This service account does not have access to this app")
    if kind == "user" and role_has_global_access(store.role_of(target)):
        raise GraphQLError("Access cannot be changed for members with a global access role.")
    entries = env_key_inputs(store, app, v.get("envKeys"))
    keys.revoke_individual(store, kind, target["id"], keys.app_env_ids(store, app["id"]))
    for env, raw in entries:
        upsert_key(store, env, kind, target["id"], raw)
    return {"updateMemberEnvironmentScope": {"app": app_json(app)}}


def remove_app_member(store: Store, member: Row, v: dict[str, Any]) -> dict[str, Any]:
    app = app_row(store, v.get("appId"))
    kind = "service" if v.get("memberType") == "SERVICE" else "user"
    resource = "Members" if kind == "user" else "ServiceAccounts"
    if not has_permission(store, "user", member, "delete", resource, True, app):
        raise GraphQLError(f"You don't have permission to remove {resource} from this App")
    require_app_access(store, member, app)
    table = "members" if kind == "user" else "service_accounts"
    target = store.table(table).get(str(v.get("memberId")))
    if target is None:
        raise GraphQLError("Invalid member type or ID")
    if kind == "user" and role_has_global_access(store.role_of(target)):
        raise GraphQLError("Access cannot be changed for members with a global access role.")
    if app["id"] not in target["apps"]:
        if kind == "user":
            raise GraphQLError("This user is not a member of this app")
        raise GraphQLError("This service account is not a member of this app")
    target["apps"].remove(app["id"])
    keys.revoke_individual(store, kind, target["id"], keys.app_env_ids(store, app["id"]))
    return {"removeAppMember": {"app": app_json(app)}}


def create_environment(store: Store, member: Row, v: dict[str, Any]) -> dict[str, Any]:
    data = v.get("envInput") or v.get("environmentData")
    if not isinstance(data, dict):
        raise GraphQLError(
            "Variable '$envInput' of required type 'EnvironmentInput!' was not provided."
        )
    app = store.table("apps").get(str(data.get("appId")))
    if app is None or not can_access_app(store, "user", member, app):
        raise GraphQLError("You don't have access to this app")
    if not has_permission(store, "user", member, "create", "Environments", True, app):
        raise GraphQLError("You don't have permission to create environments in this organisation")
    name = str(data.get("name") or "")
    if not GRAPHQL_ENV_NAME.match(name):
        raise GraphQLError(INVALID_ENV_NAME)
    envs = store.envs_of_app(app["id"])
    if any(e["name"].lower() == name.lower() for e in envs):
        raise GraphQLError(DUPLICATE_ENV_NAME)
    env_type = str(data.get("envType") or "custom").lower()
    if env_type not in ("dev", "staging", "prod") and store.plan == "FR":
        raise GraphQLError(
            "Custom environments are not available on the Free plan. Upgrade to Pro to create "
            "custom environments."
        )
    limit = MAX_ENVS.get(store.plan)
    if limit is not None and len(envs) >= limit:
        raise GraphQLError("You cannot add any more Environments to this App!")
    index = {"dev": 0, "staging": 1, "prod": 2}.get(env_type)
    if index is None:
        highest = max((e["index"] for e in envs), default=None)
        index = highest + 1 if highest else 0  # as the server does: a max of 0 gives 0 too
    for field in ("wrappedSeed", "wrappedSalt"):
        if not re.match(r"^ph:v1:[0-9a-fA-F]{64}:.+", str(data.get(field) or "")):
            raise GraphQLError(f"Invalid {field}: not a ph:v1 ciphertext")
    boss = next(
        (
            m
            for m in store.table("members").values()
            if m["deleted_at"] is None and (store.role_of(m) or {}).get("name") == "Owner"
        ),
        None,
    )
    if boss is None:
        raise GraphQLError("OrganisationMember matching query does not exist.")
    stamp = now()
    env: Row = {
        "id": new_id(),
        "app_id": app["id"],
        "name": name,
        "env_type": env_type,
        "index": index,
        "identity_key": str(data.get("identityKey") or ""),
        "wrapped_seed": str(data["wrappedSeed"]),
        "wrapped_salt": str(data["wrappedSalt"]),
        "server_key": None,
        "created_at": stamp,
        "updated_at": stamp,
    }
    store.table("environments")[env["id"]] = env
    owner_raw = {"wrappedSeed": env["wrapped_seed"], "wrappedSalt": env["wrapped_salt"]}
    upsert_key(store, env, "user", boss["id"], owner_raw)
    for raw in v.get("adminKeys") or []:
        if not isinstance(raw, dict) or store.active("members", raw.get("userId")) is None:
            raise GraphQLError("OrganisationMember matching query does not exist.")
        upsert_key(store, env, "user", str(raw["userId"]), raw)
    if v.get("wrappedSeed") and v.get("wrappedSalt"):
        env["server_key"] = {"wrapped_seed": v["wrappedSeed"], "wrapped_salt": v["wrappedSalt"]}
    return {
        "createEnvironment": {
            "environment": {
                "id": env["id"],
                "name": env["name"],
                "envType": env_type.upper(),
                "index": index,
                "createdAt": env["created_at"],
                "identityKey": env["identity_key"],
            }
        }
    }


def init_env_sync(store: Store, member: Row, v: dict[str, Any]) -> dict[str, Any]:
    app = app_row(store, v.get("appId"))
    require_app_access(store, member, app)
    for env in store.envs_of_app(app["id"]):
        if store.find_key(env["id"], "user", member["id"]) is None:
            raise GraphQLError(
                "You cannot enable SSE as you don't have access to all environments in this App"
            )
    entries = env_key_inputs(store, app, v.get("envKeys"))
    app["sse_enabled"] = True
    app["updated_at"] = now()
    for env, raw in entries:
        env["server_key"] = {
            "wrapped_seed": str(raw["wrappedSeed"]),
            "wrapped_salt": str(raw["wrappedSalt"]),
        }
    return {"initEnvSync": {"app": app_json(app)}}


def _environment(store: Store, env_id: Any) -> tuple[Row, Row]:
    env = store.table("environments").get(str(env_id))
    if env is None:
        raise GraphQLError("Environment matching query does not exist.")
    return env, store.table("apps")[env["app_id"]]


def _custom_envs_allowed(store: Store) -> None:
    if store.plan == "FR":
        raise GraphQLError("Your Organisation doesn't have access to Custom Environments")


def rename_environment(store: Store, member: Row, v: dict[str, Any]) -> dict[str, Any]:
    env, app = _environment(store, v.get("environmentId"))
    if not has_permission(store, "user", member, "update", "Environments", True, app):
        raise GraphQLError("You do not have permission to rename environments")
    _custom_envs_allowed(store)
    name = str(v.get("name") or "")
    if not GRAPHQL_ENV_NAME.match(name):
        raise GraphQLError(INVALID_ENV_NAME)
    if any(
        e["name"].lower() == name.lower() and e["id"] != env["id"]
        for e in store.envs_of_app(app["id"])
    ):
        raise GraphQLError(DUPLICATE_ENV_NAME)
    env["name"], env["updated_at"] = name, now()
    return {
        "renameEnvironment": {
            "environment": {"id": env["id"], "name": name, "updatedAt": env["updated_at"]}
        }
    }


def delete_environment(store: Store, member: Row, v: dict[str, Any]) -> dict[str, Any]:
    env, app = _environment(store, v.get("environmentId"))
    if not has_permission(store, "user", member, "delete", "Environments", True, app):
        raise GraphQLError("You do not have permission to delete environments")
    _custom_envs_allowed(store)
    keys.delete_environment(store, env["id"])
    return {"deleteEnvironment": {"ok": True}}
