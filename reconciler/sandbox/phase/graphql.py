"""The subset of Phase's private GraphQL API (``POST /graphql/``, session cookie required) that
end-to-end-encrypted apps need (contracts/phase.md §6.6).

This is not a GraphQL engine. A request is the usual JSON body ``{query, variables,
operationName}``; the sandbox dispatches on ``operationName`` (taken from the document's first
``query``/``mutation`` name when absent), reads arguments only from ``variables``, and answers
``{"data": {<root field>: ...}}`` with a fixed field set per operation (a superset of what the
console's documents select), camelCase as graphene renders it. Resolver errors answer 200 with
``{"errors": [{"message", "path"}], "data": {<root field>: null}}`` like graphene; an operation
the sandbox does not know answers 400.

Operations, with the console's operation names and their variables:

=============================  ==================================================================
``GetOrganisations``           ``organisations``: ``[{id, name, plan, createdAt, memberId,
                               role {id, name}}]``
``GetOrganisationMembers``     ``organisationMembers(organisationId, role?)``: ``[{id, email,
                               fullName, avatarUrl, identityKey, createdAt, lastLogin, self,
                               scimManaged, role {id, name, description, color, permissions}}]``
``GetServiceAccounts``         ``serviceAccounts(orgId, id?)``: ``[{id, name, identityKey,
                               createdAt, role {…}, team {id, name}|null, handlers: []}]``
``GetAppEnvironments``         ``appEnvironments(appId, memberId?, memberType?)``: envs the
                               member holds keys for ``[{id, name, envType, index, identityKey,
                               wrappedSeed, wrappedSalt, createdAt, app {id, name}}]`` (the
                               wrapped values are the *caller's* key), plus ``sseEnabled(appId)``
                               and ``serverPublicKey``
``GetEnvironmentKeys``         ``environmentKeys(appId?, environmentId?, memberId?,
``GetMemberEnvKeyGrants``      memberType?)``: ``[{id, identityKey, wrappedSeed, wrappedSalt,
                               createdAt, environment {id, name}, grants [{grantType, team}]}]``
                               (the caller's own keys without ``memberId``)
``GetServerKey``               ``serverPublicKey``
``AddMemberToApp``             ``addAppMember(memberId, memberType, appId, envKeys)``
``UpdateEnvScope``             ``updateMemberEnvironmentScope(memberId, memberType, appId,
                               envKeys)``
``RemoveMemberFromApp``        ``removeAppMember(memberId, memberType, appId)``
``CreateEnv``                  ``createEnvironment(envInput, adminKeys, wrappedSeed?,
                               wrappedSalt?)``: ``{environment {id, name, envType, index,
                               createdAt, identityKey}}``
``InitAppSyncing``             ``initEnvSync(appId, envKeys)``: ``{app {id, sseEnabled}}``
``RenameEnv``                  ``renameEnvironment(environmentId, name)``: ``{environment {id,
                               name, updatedAt}}``
``DeleteEnv``                  ``deleteEnvironment(environmentId)``: ``{ok}`` (hard delete with
                               its keys and secrets)
=============================  ==================================================================

``envKeys`` entries are ``EnvironmentKeyInput`` ``{envId, userId, identityKey, wrappedSeed,
wrappedSalt}``; ``memberType`` is ``USER`` (default) or ``SERVICE``. The app mutations answer
``{app {id, name, sseEnabled}}``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from reconciler.sandbox.phase import keys
from reconciler.sandbox.phase.access import (
    can_access_app,
    has_permission,
    role_has_global_access,
)
from reconciler.sandbox.phase.routes_apps import MAX_ENVS
from reconciler.sandbox.phase.store import Row, Store, new_id, now

GRAPHQL_ENV_NAME = re.compile(r"^[a-zA-Z0-9\-_]{1,32}$")
INVALID_ENV_NAME = (
    "Environment name is invalid! Environment names can only includes letters, numbers, "
    "hyphens and underscores, and must be 32 characters or less."
)
DUPLICATE_ENV_NAME = "An Environment with this name already exists in this App!"
_NAME = re.compile(r"\b(query|mutation)\s+(\w+)")
MUTATIONS = {
    "AddMemberToApp",
    "UpdateEnvScope",
    "RemoveMemberFromApp",
    "CreateEnv",
    "InitAppSyncing",
    "RenameEnv",
    "DeleteEnv",
}


class GraphQLError(Exception):
    """A resolver error: rendered in ``errors`` with the root field set to null."""


Resolver = Callable[[Store, Row, dict[str, Any]], dict[str, Any]]


def operation_name(body: dict[str, Any]) -> str:
    name = body.get("operationName")
    if isinstance(name, str) and name:
        return name
    found = _NAME.search(str(body.get("query") or ""))
    return found.group(2) if found else ""


def mutated(body: Any) -> bool:
    return isinstance(body, dict) and operation_name(body) in MUTATIONS


def execute(store: Store, member: Row, body: Any) -> tuple[int, dict[str, Any]]:
    """``(status, answer)`` for one GraphQL request by ``member``."""
    if not isinstance(body, dict) or not body.get("query"):
        return 400, {"errors": [{"message": "Must provide query string."}]}
    name = operation_name(body)
    found = OPERATIONS.get(name)
    if found is None:
        return 400, {
            "errors": [
                {"message": f"sandbox: unsupported GraphQL operation {name!r} (see graphql.py)"}
            ]
        }
    field, resolver = found
    variables = body.get("variables") or {}
    if not isinstance(variables, dict):
        return 400, {"errors": [{"message": "Variables are invalid JSON."}]}
    if name in MUTATIONS:
        try:
            with store.transaction():
                return 200, {"data": resolver(store, member, variables)}
        except GraphQLError as exc:
            return 200, {"errors": [{"message": str(exc), "path": [field]}], "data": {field: None}}
    try:
        return 200, {"data": resolver(store, member, variables)}
    except GraphQLError as exc:
        return 200, {"errors": [{"message": str(exc), "path": [field]}], "data": {field: None}}


# -- helpers ------------------------------------------------------------------------------


def _app(store: Store, app_id: Any) -> Row:
    app = store.table("apps").get(str(app_id))
    if app is None:
        raise GraphQLError("App matching query does not exist.")
    return app


def _require_app_access(store: Store, member: Row, app: Row) -> None:
    if not can_access_app(store, "user", member, app):
        raise GraphQLError("You don't have access to this app")


def _role_json(store: Store, role_id: str | None) -> Row | None:
    from reconciler.sandbox.phase.access import role_permissions

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


def _target(store: Store, variables: dict[str, Any]) -> tuple[str, Row]:
    """``(kind, row)`` of ``memberId``/``memberType``."""
    kind = "service" if variables.get("memberType") == "SERVICE" else "user"
    table = "service_accounts" if kind == "service" else "members"
    row = store.active(table, variables.get("memberId"))
    if row is None:
        what = "ServiceAccount" if kind == "service" else "OrganisationMember"
        raise GraphQLError(f"{what} matching query does not exist.")
    return kind, row


def _env_key_inputs(store: Store, app: Row, env_keys: Any) -> list[tuple[Row, dict[str, Any]]]:
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


def _upsert(store: Store, env: Row, kind: str, principal_id: str, raw: dict[str, Any]) -> None:
    """``_upsert_active_env_key`` + an INDIVIDUAL grant."""
    key = store.find_key(env["id"], kind, principal_id)
    wrapped = (str(raw["wrappedSeed"]), str(raw["wrappedSalt"]))
    if key is not None:
        key["wrapped_seed"], key["wrapped_salt"] = wrapped
        key["identity_key"] = str(raw.get("identityKey") or env["identity_key"])
        key["updated_at"] = now()
    keys.ensure_key(store, env, kind, principal_id, keys.INDIVIDUAL, wrapped)


def _app_json(app: Row) -> Row:
    return {"id": app["id"], "name": app["name"], "sseEnabled": app["sse_enabled"]}


# -- queries ------------------------------------------------------------------------------


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
                "role": _role_json(store, m["role_id"]),
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
                "role": _role_json(store, sa["role_id"]),
                "team": None if team is None else {"id": team["id"], "name": team["name"]},
                "handlers": [],
            }
        )
    return {"serviceAccounts": rows}


def app_environments(store: Store, member: Row, v: dict[str, Any]) -> dict[str, Any]:
    app = _app(store, v.get("appId"))
    sse = {"sseEnabled": app["sse_enabled"], "serverPublicKey": store.server_keypair()[0]}
    if not has_permission(store, "user", member, "read", "Environments", True, app):
        return {"appEnvironments": [], **sse}
    _require_app_access(store, member, app)
    kind, target = ("user", member) if v.get("memberId") is None else _target(store, v)
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
        app = _app(store, v["appId"])
    else:
        env = store.table("environments").get(str(v["environmentId"]))
        if env is None:
            raise GraphQLError("Environment matching query does not exist.")
        app = store.table("apps")[env["app_id"]]
    _require_app_access(store, member, app)
    kind, target = ("user", member) if v.get("memberId") is None else _target(store, v)
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


# -- mutations ----------------------------------------------------------------------------


def add_app_member(store: Store, member: Row, v: dict[str, Any]) -> dict[str, Any]:
    app = _app(store, v.get("appId"))
    kind, target = _target(store, v)
    resource = "Members" if kind == "user" else "ServiceAccounts"
    if not has_permission(store, "user", member, "create", resource, True, app):
        raise GraphQLError("You don't have permission to add members to this App")
    _require_app_access(store, member, app)
    entries = _env_key_inputs(store, app, v.get("envKeys"))
    if app["id"] not in target["apps"]:
        target["apps"].append(app["id"])
    for env, raw in entries:
        _upsert(store, env, kind, target["id"], raw)
    return {"addAppMember": {"app": _app_json(app)}}


def update_member_env_scope(store: Store, member: Row, v: dict[str, Any]) -> dict[str, Any]:
    app = _app(store, v.get("appId"))
    kind, target = _target(store, v)
    resource = "Members" if kind == "user" else "ServiceAccounts"
    if not has_permission(store, "user", member, "update", resource, True, app):
        raise GraphQLError("You don't have permission to update App member access")
    _require_app_access(store, member, app)
    if app["id"] not in target["apps"]:
        if kind == "user":
            raise GraphQLError("This user does not have access to this app")
        raise GraphQLError("This service account does not have access to this app")
    if kind == "user" and role_has_global_access(store.role_of(target)):
        raise GraphQLError("Access cannot be changed for members with a global access role.")
    entries = _env_key_inputs(store, app, v.get("envKeys"))
    keys.revoke_individual(store, kind, target["id"], keys.app_env_ids(store, app["id"]))
    for env, raw in entries:
        _upsert(store, env, kind, target["id"], raw)
    return {"updateMemberEnvironmentScope": {"app": _app_json(app)}}


def remove_app_member(store: Store, member: Row, v: dict[str, Any]) -> dict[str, Any]:
    app = _app(store, v.get("appId"))
    kind = "service" if v.get("memberType") == "SERVICE" else "user"
    resource = "Members" if kind == "user" else "ServiceAccounts"
    if not has_permission(store, "user", member, "delete", resource, True, app):
        raise GraphQLError(f"You don't have permission to remove {resource} from this App")
    _require_app_access(store, member, app)
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
    return {"removeAppMember": {"app": _app_json(app)}}


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
    _upsert(store, env, "user", boss["id"], owner_raw)
    for raw in v.get("adminKeys") or []:
        if not isinstance(raw, dict) or store.active("members", raw.get("userId")) is None:
            raise GraphQLError("OrganisationMember matching query does not exist.")
        _upsert(store, env, "user", str(raw["userId"]), raw)
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
    app = _app(store, v.get("appId"))
    _require_app_access(store, member, app)
    for env in store.envs_of_app(app["id"]):
        if store.find_key(env["id"], "user", member["id"]) is None:
            raise GraphQLError(
                "You cannot enable SSE as you don't have access to all environments in this App"
            )
    entries = _env_key_inputs(store, app, v.get("envKeys"))
    app["sse_enabled"] = True
    app["updated_at"] = now()
    for env, raw in entries:
        env["server_key"] = {
            "wrapped_seed": str(raw["wrappedSeed"]),
            "wrapped_salt": str(raw["wrappedSalt"]),
        }
    return {"initEnvSync": {"app": _app_json(app)}}


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


OPERATIONS: dict[str, tuple[str, Resolver]] = {
    "GetOrganisations": ("organisations", organisations),
    "GetOrganisationMembers": ("organisationMembers", organisation_members),
    "GetServiceAccounts": ("serviceAccounts", service_accounts),
    "GetAppEnvironments": ("appEnvironments", app_environments),
    "GetEnvironmentKeys": ("environmentKeys", environment_keys),
    "GetMemberEnvKeyGrants": ("environmentKeys", environment_keys),
    "GetServerKey": ("serverPublicKey", server_key),
    "AddMemberToApp": ("addAppMember", add_app_member),
    "UpdateEnvScope": ("updateMemberEnvironmentScope", update_member_env_scope),
    "RemoveMemberFromApp": ("removeAppMember", remove_app_member),
    "CreateEnv": ("createEnvironment", create_environment),
    "InitAppSyncing": ("initEnvSync", init_env_sync),
    "RenameEnv": ("renameEnvironment", rename_environment),
    "DeleteEnv": ("deleteEnvironment", delete_environment),
}
