"""The public v1 REST API views (contracts/phase.md §5), one function per endpoint and method.

Each view takes the store, the caller and the request parts, and returns a response or raises
``ApiError``. Validation order, messages and status codes follow the contract and the recorded
transcript; every view runs with the store lock held (the API module takes it).
"""

from __future__ import annotations

import datetime
from typing import Any

from fastapi.responses import JSONResponse, Response

from reconciler.crypto import primitives as p
from reconciler.sandbox.phase.auth import (
    Caller,
    can_access_app,
    global_access,
    require,
    role_permissions,
)
from reconciler.sandbox.phase.roles import ACTIONS, APP_CLASSES, ORG_CLASSES
from reconciler.sandbox.phase.store import Row, Store, new_id, now
from reconciler.sandbox.phase.wire import ENV_NAME, ApiError, ok, query, text_field

NO_CONTENT = Response(status_code=204)

# -- serialisers -------------------------------------------------------------------------


def app_json(app: Row) -> Row:
    return {k: app[k] for k in ("id", "name", "description", "sse_enabled", "created_at")} | {
        "updated_at": app["updated_at"]
    }


def env_json(env: Row) -> Row:
    keys = ("id", "name", "env_type", "index", "created_at", "updated_at")
    return {k: env[k] for k in keys}


def role_ref(store: Store, role_id: str | None) -> Row | None:
    role = store.table("roles").get(role_id or "")
    return None if role is None else {"id": role["id"], "name": role["name"]}


def role_summary(role: Row) -> Row:
    return {
        "id": role["id"],
        "name": role["name"],
        "description": role["description"],
        "color": role["color"],
        "is_default": role["is_default"],
        "created_at": role["created_at"],
    }


def role_detail(role: Row) -> Row:
    perms = role_permissions(role)
    if not role["is_default"]:
        perms = dict(role.get("permissions") or {})
    return role_summary(role) | {"permissions": perms}


def member_json(store: Store, member: Row) -> Row:
    return {
        "id": member["id"],
        "username": member["email"],
        "full_name": member["full_name"],
        "email": member["email"],
        "role": role_ref(store, member["role_id"]),
        "created_at": member["created_at"],
        "updated_at": member["updated_at"],
    }


def principal_apps(store: Store, kind: str, principal: Row, with_type: bool = True) -> list[Row]:
    """Apps of the principal's individual M2M (newest first) with every env it holds a key
    for, individual or team granted (contracts/phase.md §5.5)."""
    keyed = {k["environment_id"] for k in store.keys_of(kind, principal["id"])}
    apps = [store.table("apps")[a] for a in principal["apps"] if a in store.table("apps")]
    out = []
    for app in sorted(apps, key=lambda a: a["created_at"], reverse=True):
        envs = [e for e in store.envs_of_app(app["id"]) if e["id"] in keyed]
        out.append(
            {
                "id": app["id"],
                "name": app["name"],
                "environments": [
                    {"id": e["id"], "name": e["name"]}
                    | ({"env_type": e["env_type"]} if with_type else {})
                    for e in envs
                ],
            }
        )
    return out


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
        "apps": principal_apps(store, "service", sa),
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
        "is_scim_managed": False,
        "member_role": role_ref(store, team["member_role_id"]),
        "service_account_role": role_ref(store, team["sa_role_id"]),
        "owner": None if owner is None else {"id": owner["id"], "email": owner["email"]},
        "created_at": team["created_at"],
        "updated_at": team["updated_at"],
    }


def team_detail(store: Store, team: Row) -> Row:
    members: list[Row] = []
    for ref in team["members"]:
        if ref["kind"] == "user":
            m = store.table("members").get(ref["id"])
            if m is not None and m["deleted_at"] is None:
                members.append(
                    {
                        "type": "user",
                        "id": m["id"],
                        "email": m["email"],
                        "full_name": m["full_name"],
                    }
                )
        else:
            sa = store.table("service_accounts").get(ref["id"])
            if sa is not None and sa["deleted_at"] is None:
                members.append({"type": "service_account", "id": sa["id"], "name": sa["name"]})
    apps: dict[str, Row] = {}
    envs = store.table("environments")
    for env_id in team["envs"]:
        env = envs.get(env_id)
        if env is None:
            continue
        app = store.table("apps")[env["app_id"]]
        entry = apps.setdefault(
            app["id"], {"id": app["id"], "name": app["name"], "environments": []}
        )
        entry["environments"].append({"id": env["id"], "name": env["name"]})
    return team_json(store, team) | {"members": members, "apps": list(apps.values())}


# -- lookups -----------------------------------------------------------------------------


def active(table: dict[str, Row], key: str) -> Row | None:
    row = table.get(key)
    return row if row is not None and row.get("deleted_at") is None else None


def find_role(store: Store, role_id: Any) -> Row:
    if not role_id:
        raise ApiError(400, "Missing required field: role_id")
    role = store.table("roles").get(str(role_id))
    if role is None:
        raise ApiError(404, "Role not found.")
    return role


def body_object(body: Any) -> Row:
    if not isinstance(body, dict):
        raise ApiError(400, "Request body must be a JSON object.")
    return body


def app_context(store: Store, caller: Caller, app_id: str | None) -> Row:
    """App mode: the app exists in the org, is SSE, and the caller can access it."""
    if not app_id:
        raise ApiError(403, "Could not resolve app from request.")
    app = store.table("apps").get(app_id)
    if app is None:
        raise ApiError(404, f"App with ID {app_id} not found")
    if not can_access_app(store, caller.kind, caller.row, app):
        if caller.kind == "user":
            raise ApiError(403, "User cannot access this app")
        raise ApiError(401, "Service account cannot access this app")
    if not app["sse_enabled"]:
        raise ApiError(403, "SSE is not enabled for this App.")
    return app


def global_members(store: Store) -> list[Row]:
    roles = store.table("roles")
    return [
        m
        for m in store.table("members").values()
        if m["deleted_at"] is None and global_access(roles.get(m["role_id"] or ""))
    ]


def provision_environment(store: Store, app: Row, env: Row, caller: Caller) -> None:
    """Keys for a new env: global-access members with identity keys, SSK SAs of the app, the
    caller (``create_environment``); the server key comes with the env itself (SSE)."""
    for member in global_members(store):
        if member["identity_key"]:
            store.grant_key(env, "user", member["id"], "individual")
    for sa in store.table("service_accounts").values():
        if sa["deleted_at"] is None and app["id"] in sa["apps"]:
            store.grant_key(env, "service", sa["id"], "individual")
    store.grant_key(env, caller.kind, caller.id, "individual")


# -- apps --------------------------------------------------------------------------------


def list_apps(store: Store, caller: Caller) -> Response:
    require(store, caller, "read", "Apps")
    apps = [
        a for a in store.table("apps").values() if can_access_app(store, caller.kind, caller.row, a)
    ]
    apps.sort(key=lambda a: a["created_at"], reverse=True)
    return ok({"data": [app_json(a) for a in apps]})


def create_app(store: Store, caller: Caller, body: Any) -> Response:
    require(store, caller, "create", "Apps")
    if not isinstance(body, dict):
        raise ApiError(400, "Request body must be a JSON object.")
    name = text_field(body, "name", 64, required=True)
    description = text_field(body, "description", 10000, required=False)
    names: list[str] | None = None
    if "environments" in body:
        raw = body["environments"]
        if not isinstance(raw, list) or not raw:
            raise ApiError(400, "'environments' must be a non-empty list of names.")
        names = []
        for item in raw:
            if not isinstance(item, str) or not item.strip():
                raise ApiError(400, "Environment names must be non-blank strings.")
            if not ENV_NAME.match(item):
                raise ApiError(400, f"Invalid environment name: '{item}'.")
            if item.lower() in {n.lower() for n in names}:
                raise ApiError(400, f"Duplicate environment name: '{item}'.")
            names.append(item)
        if store.org["plan"] == "FR":
            raise ApiError(403, "Custom environments are not available on the Free plan.")
        if len(names) > env_quota(store):
            raise ApiError(403, "Environment quota exceeded for this app's plan.")
    if store.org["plan"] == "FR" and len(store.table("apps")) >= 3:
        raise ApiError(403, "App quota exceeded for this organisation's plan.")
    app: Row = {
        "id": new_id(),
        "name": name,
        "description": description,
        "sse_enabled": True,
        "created_at": now(),
        "updated_at": now(),
    }
    store.table("apps")[app["id"]] = app
    caller.row["apps"].append(app["id"])
    for member in global_members(store):
        if app["id"] not in member["apps"]:
            member["apps"].append(app["id"])
    specs = (
        [("Development", "dev"), ("Staging", "staging"), ("Production", "prod")]
        if names is None
        else [(n, "custom") for n in names]
    )
    envs = []
    for index, (env_name, env_type) in enumerate(specs):
        env = store.add_environment(app, env_name, env_type, index)
        provision_environment(store, app, env, caller)
        envs.append(env_json(env))
    return ok(app_json(app) | {"environments": envs}, 201)


def env_quota(store: Store) -> int:
    return {"FR": 3, "PR": 10}.get(store.org["plan"], 10_000)


def get_app(store: Store, caller: Caller, app_id: str) -> Response:
    app = app_context(store, caller, app_id)
    require(store, caller, "read", "Apps", app)
    return ok(app_json(app))


def update_app(store: Store, caller: Caller, app_id: str, body: Any) -> Response:
    app = app_context(store, caller, app_id)
    require(store, caller, "update", "Apps", app)
    body = body_object(body)
    if "name" not in body and "description" not in body:
        raise ApiError(400, "At least one of 'name' or 'description' must be provided.")
    if "name" in body:
        app["name"] = text_field(body, "name", 64, required=True)
    if "description" in body:
        app["description"] = text_field(body, "description", 10000, required=False)
    app["updated_at"] = now()
    return ok(app_json(app))


def delete_app(store: Store, caller: Caller, app_id: str) -> Response:
    app = app_context(store, caller, app_id)
    require(store, caller, "delete", "Apps", app)
    store.delete_app(app["id"])
    return NO_CONTENT


# -- environments ------------------------------------------------------------------------


def _env_app(store: Store, caller: Caller, params: Any) -> Row:
    return app_context(store, caller, query(params, "app_id"))


def list_envs(store: Store, caller: Caller, params: Any) -> Response:
    app = _env_app(store, caller, params)
    require(store, caller, "read", "Environments", app)
    keyed = {k["environment_id"] for k in store.keys_of(caller.kind, caller.id)}
    envs = [env_json(e) for e in store.envs_of_app(app["id"]) if e["id"] in keyed]
    return ok({"data": envs})


def create_env(store: Store, caller: Caller, params: Any, body: Any) -> Response:
    app = _env_app(store, caller, params)
    require(store, caller, "create", "Environments", app)
    body = body_object(body)
    name = body.get("name")
    if not name:
        raise ApiError(400, "Missing required field: name")
    envs = store.envs_of_app(app["id"])
    if len(envs) >= env_quota(store):
        raise ApiError(403, "Environment quota exceeded for this app's plan.")
    if store.org["plan"] == "FR":
        raise ApiError(403, "Custom environments are not available on the Free plan.")
    _check_env_name(str(name), envs, None, duplicate_status=400)
    index = max((e["index"] for e in envs), default=-1) + 1
    env = store.add_environment(app, str(name), "custom", index)
    provision_environment(store, app, env, caller)
    return ok(env_json(env), 201)


def _check_env_name(name: str, envs: list[Row], own: str | None, duplicate_status: int) -> None:
    if not ENV_NAME.match(name):
        raise ApiError(
            400,
            "Environment name is invalid. Use letters, numbers, hyphens and underscores only "
            "(64 characters or fewer).",
        )
    if any(e["name"].lower() == name.lower() and e["id"] != own for e in envs):
        raise ApiError(duplicate_status, "An environment with this name already exists.")


def _env_detail(store: Store, caller: Caller, env_id: str, params: Any) -> tuple[Row, Row]:
    env = store.table("environments").get(env_id)
    if env is None:
        raise ApiError(404, "Environment not found")
    wanted = query(params, "app_id")
    if wanted is not None and wanted != env["app_id"]:
        raise ApiError(404, "Environment not found")
    app = app_context(store, caller, env["app_id"])
    if store.find_key(env["id"], caller.kind, caller.id) is None:
        if caller.kind == "user":
            raise ApiError(403, "You don't have access to this environment.")
        raise ApiError(403, "Service account doesn't have access to this environment.")
    return app, env


def get_env(store: Store, caller: Caller, env_id: str, params: Any) -> Response:
    app, env = _env_detail(store, caller, env_id, params)
    require(store, caller, "read", "Environments", app)
    return ok(env_json(env))


def update_env(store: Store, caller: Caller, env_id: str, params: Any, body: Any) -> Response:
    app, env = _env_detail(store, caller, env_id, params)
    require(store, caller, "update", "Environments", app)
    body = body_object(body)
    name = body.get("name")
    if not name:
        raise ApiError(400, "Missing required field: name")
    if env["env_type"] == "custom" and store.org["plan"] == "FR":
        raise ApiError(403, "Custom environments are not available on the Free plan.")
    _check_env_name(str(name), store.envs_of_app(app["id"]), env["id"], duplicate_status=409)
    env["name"] = str(name)
    env["updated_at"] = now()
    return ok(env_json(env))


def delete_env(store: Store, caller: Caller, env_id: str, params: Any) -> Response:
    app, env = _env_detail(store, caller, env_id, params)
    require(store, caller, "delete", "Environments", app)
    if env["env_type"] == "custom" and store.org["plan"] == "FR":
        raise ApiError(403, "Custom environments are not available on the Free plan.")
    store.delete_environment(env["id"])
    return NO_CONTENT


# -- secrets (SSE) -----------------------------------------------------------------------


def _secret_env(store: Store, caller: Caller, params: Any) -> tuple[Row, Row]:
    app_id, env_name = query(params, "app_id"), query(params, "env")
    app = store.table("apps").get(app_id or "")
    if app is None:
        raise ApiError(404, f"App with ID {app_id} not found")
    if not can_access_app(store, caller.kind, caller.row, app):
        if caller.kind == "user":
            raise ApiError(403, "User cannot access this app")
        raise ApiError(401, "Service account cannot access this app")
    if not app["sse_enabled"]:
        raise ApiError(400, "SSE is not enabled for this App")
    env = next(
        (e for e in store.envs_of_app(app["id"]) if e["name"].lower() == (env_name or "").lower()),
        None,
    )
    if env is None:
        raise ApiError(404, "Environment not found")
    if store.find_key(env["id"], caller.kind, caller.id) is None:
        raise ApiError(403, "You don't have access to this environment.")
    return app, env


def _secret_json(secret: Row, env: Row) -> Row:
    env_pk, env_sk = p.kx_seed_keypair(env["seed"])
    value = p.decrypt_asymmetric(secret["value"], env_sk, env_pk)
    return {
        "id": secret["id"],
        "key": secret["key"],
        "value": value,
        "comment": secret["comment"],
        "tags": [],
        "override": None,
        "type": "secret",
        "lifecycle": "static",
        "path": secret["path"],
        "key_digest": secret["key_digest"],
        "version": secret["version"],
        "created_at": secret["created_at"],
        "updated_at": secret["updated_at"],
        "environment": env["id"],
        "folder": None,
    }


def list_secrets(store: Store, caller: Caller, params: Any) -> Response:
    app, env = _secret_env(store, caller, params)
    require(store, caller, "read", "Secrets", app)
    key = query(params, "key")
    rows = [
        s
        for s in store.table("secrets").values()
        if s["environment_id"] == env["id"] and (key is None or s["key"] == key.upper())
    ]
    rows.sort(key=lambda s: s["created_at"])
    return ok([_secret_json(s, env) for s in rows])


def write_secrets(store: Store, caller: Caller, params: Any, body: Any, update: bool) -> Response:
    app, env = _secret_env(store, caller, params)
    require(store, caller, "update" if update else "create", "Secrets", app)
    items = body_object(body).get("secrets")
    if not isinstance(items, list) or not items:
        raise ApiError(400, "'secrets' must be a non-empty list.")
    table = store.table("secrets")
    out = []
    for item in items:
        if not isinstance(item, dict) or not item.get("key"):
            raise ApiError(400, "Each secret needs a 'key'.")
        key, path = str(item["key"]).upper(), str(item.get("path") or "/")
        existing = next(
            (
                s
                for s in table.values()
                if s["environment_id"] == env["id"] and s["key"] == key and s["path"] == path
            ),
            None,
        )
        if existing is not None and not update:
            raise ApiError(409, "Duplicate secret found")
        if existing is None and update:
            raise ApiError(404, "Secret not found")
        ciphertext = p.encrypt_asymmetric(str(item.get("value", "")), env["identity_key"])
        if existing is None:
            existing = {
                "id": new_id(),
                "environment_id": env["id"],
                "key": key,
                "path": path,
                "key_digest": p.blake2b_digest(key, env["salt"]),
                "version": 0,
                "created_at": now(),
            }
            table[existing["id"]] = existing
        existing |= {
            "value": ciphertext,
            "comment": str(item.get("comment") or ""),
            "version": existing["version"] + 1,
            "updated_at": now(),
        }
        out.append(_secret_json(existing, env))
    env["updated_at"] = now()
    return ok(out)


# -- roles -------------------------------------------------------------------------------


def list_roles(store: Store, caller: Caller) -> Response:
    require(store, caller, "read", "Roles")
    roles = sorted(store.table("roles").values(), key=lambda r: r["created_at"])
    return ok({"data": [role_summary(r) for r in roles]})


def _validate_permissions(raw: Any) -> Row:
    if not isinstance(raw, dict):
        raise ApiError(400, "'permissions' must be an object.")
    raw = dict(raw)
    if "appPermissions" in raw and "app_permissions" not in raw:
        raw["app_permissions"] = raw.pop("appPermissions")
    unknown = set(raw) - {"permissions", "app_permissions"}
    if unknown:
        raise ApiError(400, f"Unknown permission keys: {', '.join(sorted(unknown))}")
    for key, classes in (("permissions", ORG_CLASSES), ("app_permissions", APP_CLASSES)):
        section = raw.get(key)
        if not isinstance(section, dict):
            raise ApiError(400, f"'permissions.{key}' is required and must be an object.")
        for cls, actions in section.items():
            if cls not in classes:
                raise ApiError(400, f"Unknown permission class: {cls}")
            if not isinstance(actions, list) or any(a not in ACTIONS.values() for a in actions):
                raise ApiError(400, f"Invalid actions for {cls}")
    return {"permissions": raw["permissions"], "app_permissions": raw["app_permissions"]}


def _role_name_taken(store: Store, name: str, own: str | None) -> bool:
    return any(
        r["name"].lower() == name.lower() and r["id"] != own for r in store.table("roles").values()
    )


def create_role(store: Store, caller: Caller, body: Any) -> Response:
    require(store, caller, "create", "Roles")
    if store.org["plan"] == "FR":
        raise ApiError(403, "Custom roles are not available on your organisation's plan.")
    body = body_object(body)
    name = text_field(body, "name", 64, required=True)
    assert name is not None
    if _role_name_taken(store, name, None):
        raise ApiError(409, "A role with this name already exists.")
    if "permissions" not in body:
        raise ApiError(400, "Missing required field: permissions")
    permissions = _validate_permissions(body["permissions"])
    role: Row = {
        "id": new_id(),
        "name": name,
        "description": text_field(body, "description", 500, required=False) or "",
        "color": str(body.get("color") or "")[:7],
        "is_default": False,
        "permissions": permissions,
        "created_at": now(),
    }
    store.table("roles")[role["id"]] = role
    return ok(role_detail(role), 201)


def get_role(store: Store, caller: Caller, role_id: str) -> Response:
    require(store, caller, "read", "Roles")
    return ok(role_detail(find_role(store, role_id)))


def update_role(store: Store, caller: Caller, role_id: str, body: Any) -> Response:
    require(store, caller, "update", "Roles")
    role = find_role(store, role_id)
    if role["is_default"]:
        raise ApiError(403, "Default roles cannot be modified.")
    if store.org["plan"] == "FR":
        raise ApiError(403, "Custom roles are not available on your organisation's plan.")
    body = body_object(body)
    if not {"name", "description", "color", "permissions"} & set(body):
        raise ApiError(
            400, "At least one of 'name', 'description', 'color' or 'permissions' is required."
        )
    if "name" in body:
        name = text_field(body, "name", 64, required=True)
        assert name is not None
        if _role_name_taken(store, name, role["id"]):
            raise ApiError(409, "A role with this name already exists.")
        role["name"] = name
    if "description" in body:
        role["description"] = text_field(body, "description", 500, required=False) or ""
    if "color" in body:
        role["color"] = str(body.get("color") or "")[:7]
    if "permissions" in body:
        role["permissions"] = _validate_permissions(body["permissions"])
    return ok(role_detail(role))


def delete_role(store: Store, caller: Caller, role_id: str) -> Response:
    require(store, caller, "delete", "Roles")
    role = find_role(store, role_id)
    if role["is_default"]:
        raise ApiError(403, "Default roles cannot be deleted.")
    in_use = any(
        r["deleted_at"] is None and r["role_id"] == role["id"]
        for t in ("members", "service_accounts")
        for r in store.table(t).values()
    ) or any(i["valid"] and i["role_id"] == role["id"] for i in store.table("invites").values())
    if in_use:
        raise ApiError(409, "This role is in use and cannot be deleted.")
    for team in store.table("teams").values():
        for key in ("member_role_id", "sa_role_id"):
            if team[key] == role["id"]:
                team[key] = None
    del store.table("roles")[role["id"]]
    return NO_CONTENT


# -- access grants -----------------------------------------------------------------------


def put_access(store: Store, caller: Caller, kind: str, principal: Row, body: Any) -> None:
    """The declarative access PUT shared by members and SAs (contracts/phase.md §5.3, §8.1):
    validate everything first, then replace the whole individual set, E2EE apps included."""
    if not principal["identity_key"]:
        if kind == "user":
            raise ApiError(400, "Member has not set up their identity key yet.")
        raise ApiError(400, "Service account does not have an identity key.")
    apps_in = body_object(body).get("apps")
    if not isinstance(apps_in, list):
        raise ApiError(400, "'apps' must be a list.")
    caller_global = global_access(caller.role)
    wanted: dict[str, set[str]] = {}
    for entry in apps_in:
        if not isinstance(entry, dict) or "id" not in entry:
            raise ApiError(400, "Each app entry must be an object with an 'id'.")
        app = store.table("apps").get(str(entry["id"]))
        if app is None:
            raise ApiError(404, f"App not found: {entry['id']}")
        if not app["sse_enabled"]:
            raise ApiError(
                400,
                f"App '{app['name']}' does not have SSE enabled. Only SSE apps are supported.",
            )
        if not caller_global and not can_access_app(store, caller.kind, caller.row, app):
            raise ApiError(403, f"You do not have access to app: {app['id']}")
        envs = entry.get("environments")
        if not isinstance(envs, list):
            raise ApiError(400, "'environments' must be a list.")
        if not envs:
            raise ApiError(400, "'environments' must not be empty. Omit the app to revoke it.")
        app_envs = {e["id"] for e in store.envs_of_app(app["id"])}
        missing = [str(e) for e in envs if str(e) not in app_envs]
        if missing:
            raise ApiError(404, f"Environments not found in app: {', '.join(missing)}")
        if not caller_global and any(
            store.find_key(str(e), caller.kind, caller.id) is None for e in envs
        ):
            raise ApiError(403, "You do not have access to one or more environments.")
        wanted[app["id"]] = {str(e) for e in envs}
    # Apply: apps not listed leave the M2M and lose individual grants, whatever their mode.
    for app_id in list(principal["apps"]):
        if app_id not in wanted:
            principal["apps"].remove(app_id)
            for env in store.envs_of_app(app_id):
                store.revoke_grant(env["id"], kind, principal["id"], "individual")
    for app_id, env_ids in wanted.items():
        if app_id not in principal["apps"]:
            principal["apps"].append(app_id)
        for env in store.envs_of_app(app_id):
            if env["id"] in env_ids:
                if env["server_key"]:
                    store.grant_key(env, kind, principal["id"], "individual")
            else:
                store.revoke_grant(env["id"], kind, principal["id"], "individual")


# -- service accounts --------------------------------------------------------------------


def _sa(store: Store, sa_id: str) -> Row:
    sa = active(store.table("service_accounts"), sa_id)
    if sa is None:
        raise ApiError(404, "Service account not found.")
    return sa


def list_sas(store: Store, caller: Caller) -> Response:
    require(store, caller, "read", "ServiceAccounts")
    sas = [s for s in store.table("service_accounts").values() if s["deleted_at"] is None]
    sas.sort(key=lambda s: s["created_at"], reverse=True)
    return ok({"data": [sa_json(store, s) for s in sas]})


def _sa_role(store: Store, role_id: Any) -> Row:
    role = find_role(store, role_id)
    if global_access(role):
        raise ApiError(400, f"Service accounts cannot be assigned the '{role['name']}' role.")
    return role


def create_sa(store: Store, caller: Caller, body: Any) -> Response:
    require(store, caller, "create", "ServiceAccounts")
    body = body_object(body)
    name = text_field(body, "name", 64, required=True)
    role = _sa_role(store, body.get("role_id"))
    token_name = body.get("token_name", "Default")
    if not isinstance(token_name, str) or not token_name.strip() or len(token_name) > 64:
        raise ApiError(400, "'token_name' must be a non-blank string of 64 characters or fewer.")
    team = None
    if body.get("team_id"):
        team = active(store.table("teams"), str(body["team_id"]))
        if team is None:
            raise ApiError(404, "Team not found.")
    pk, sk = p.sign_keypair()
    keyring = '{"publicKey": "%s", "privateKey": "%s"}' % (pk, sk)  # noqa: UP031
    wrapped = p.encrypt_asymmetric(keyring, store.server_public)
    sa: Row = {
        "id": new_id(),
        "name": name,
        "role_id": role["id"],
        "identity_key": pk,
        "signing_key": sk,
        "server_wrapped_keyring": wrapped,
        "team_id": None if team is None else team["id"],
        "apps": [],
        "created_at": now(),
        "updated_at": now(),
        "deleted_at": None,
    }
    store.table("service_accounts")[sa["id"]] = sa
    if team is not None:
        _add_team_member(store, team, "service", sa["id"])
    token = store.mint_token("service", sa["id"], token_name.strip(), None)
    row = _latest_token(store, sa["id"])
    initial = token_json(row) | {"token": token, "bearer_token": f"ServiceAccount {row['token']}"}
    return ok(sa_json(store, sa) | {"initial_token": initial}, 201)


def _latest_token(store: Store, sa_id: str) -> Row:
    tokens = [
        t
        for t in store.table("tokens").values()
        if t["kind"] == "service" and t["owner_id"] == sa_id
    ]
    return max(tokens, key=lambda t: t["created_at"])


def get_sa(store: Store, caller: Caller, sa_id: str) -> Response:
    require(store, caller, "read", "ServiceAccounts")
    return ok(sa_detail(store, _sa(store, sa_id)))


def update_sa(store: Store, caller: Caller, sa_id: str, body: Any) -> Response:
    require(store, caller, "update", "ServiceAccounts")
    sa = _sa(store, sa_id)
    body = body_object(body)
    if "name" not in body and "role_id" not in body:
        raise ApiError(400, "At least one of 'name' or 'role_id' must be provided.")
    if "role_id" in body:
        sa["role_id"] = _sa_role(store, body["role_id"])["id"]
    if "name" in body:
        sa["name"] = text_field(body, "name", 64, required=True)
    sa["updated_at"] = now()
    return ok(sa_detail(store, sa))


def delete_sa(store: Store, caller: Caller, sa_id: str) -> Response:
    require(store, caller, "delete", "ServiceAccounts")
    sa = _sa(store, sa_id)
    sa["deleted_at"] = now()
    for token in store.table("tokens").values():
        if token["kind"] == "service" and token["owner_id"] == sa["id"]:
            token["deleted_at"] = token["deleted_at"] or now()
    keys = store.table("keys")
    for key in store.keys_of("service", sa["id"]):
        del keys[key["id"]]
    return NO_CONTENT


def put_sa_access(store: Store, caller: Caller, sa_id: str, body: Any) -> Response:
    require(store, caller, "update", "ServiceAccounts")
    sa = _sa(store, sa_id)
    put_access(store, caller, "service", sa, body)
    return ok(sa_detail(store, sa))


def _parse_expiry(body: Row) -> str | None:
    if "expiry" in body:
        raise ApiError(400, "Unknown field 'expiry'. Use 'expires_at' or 'expires_in'.")
    if body.get("expires_at") is not None:
        try:
            when = datetime.datetime.fromisoformat(str(body["expires_at"]).replace("Z", "+00:00"))
        except ValueError:
            raise ApiError(400, "'expires_at' must be an ISO-8601 datetime.") from None
        if when.tzinfo is None:
            raise ApiError(400, "'expires_at' must include a timezone.")
        if when <= datetime.datetime.now(datetime.UTC):
            raise ApiError(400, "'expires_at' must be in the future.")
        return when.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    seconds = body.get("expires_in")
    if seconds is not None:
        if isinstance(seconds, bool) or not isinstance(seconds, int) or seconds <= 0:
            raise ApiError(400, "'expires_in' must be a positive integer number of seconds.")
        when = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=seconds)
        return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return None


def create_sa_token(store: Store, caller: Caller, sa_id: str, body: Any) -> Response:
    require(store, caller, "create", "ServiceAccountTokens")
    sa = active(store.table("service_accounts"), sa_id)
    allowed = global_access(caller.role) or (caller.kind == "service" and caller.id == sa_id)
    if sa is None or not allowed:
        raise ApiError(404, "Service account not found.")
    body = body_object(body)
    name = body.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 64:
        raise ApiError(400, "Missing required field: name")
    expires_at = _parse_expiry(body)
    token = store.mint_token("service", sa["id"], name.strip(), expires_at)
    row = _latest_token(store, sa["id"])
    return ok(
        token_json(row) | {"token": token, "bearer_token": f"ServiceAccount {row['token']}"}, 201
    )


def delete_sa_token(store: Store, caller: Caller, sa_id: str, token_id: str) -> Response:
    require(store, caller, "delete", "ServiceAccountTokens")
    allowed = global_access(caller.role) or (caller.kind == "service" and caller.id == sa_id)
    if active(store.table("service_accounts"), sa_id) is None or not allowed:
        raise ApiError(404, "Service account not found.")
    token = store.table("tokens").get(token_id)
    if token is None or token["owner_id"] != sa_id or token["deleted_at"] is not None:
        raise ApiError(404, "Token not found.")
    token["deleted_at"] = now()
    return NO_CONTENT


# -- members -----------------------------------------------------------------------------


def _member(store: Store, member_id: str) -> Row:
    member = active(store.table("members"), member_id)
    if member is None:
        raise ApiError(404, "Member not found.")
    return member


def list_members(store: Store, caller: Caller) -> Response:
    require(store, caller, "read", "Members")
    members = [m for m in store.table("members").values() if m["deleted_at"] is None]
    members.sort(key=lambda m: m["created_at"])
    return ok({"data": [member_json(store, m) for m in members]})


def get_member(store: Store, caller: Caller, member_id: str) -> Response:
    require(store, caller, "read", "Members")
    return ok(member_json(store, _member(store, member_id)))


def _guard_member_change(store: Store, caller: Caller, member: Row, verb: str) -> None:
    role = store.table("roles").get(member["role_id"] or "")
    if role is not None and role["name"].lower() == "owner":
        raise ApiError(403, f"The Owner role cannot be {verb} via the API.")
    if caller.kind == "user" and caller.id == member["id"]:
        raise ApiError(403, f"You cannot {verb.rstrip('d')} your own membership.")
    if global_access(role) and (caller.kind == "service" or not global_access(caller.role)):
        raise ApiError(403, "Only global-access users can change global-access members.")


def update_member(store: Store, caller: Caller, member_id: str, body: Any) -> Response:
    require(store, caller, "update", "Members")
    member = _member(store, member_id)
    body = body_object(body)
    _guard_member_change(store, caller, member, "changed")
    role = find_role(store, body.get("role_id"))
    if role["name"].lower() == "owner":
        raise ApiError(403, "The Owner role cannot be assigned via the API.")
    if global_access(role) and (caller.kind == "service" or not global_access(caller.role)):
        raise ApiError(403, "Only global-access users can assign global-access roles.")
    member["role_id"] = role["id"]
    member["updated_at"] = now()
    return ok(member_json(store, member))


def delete_member(store: Store, caller: Caller, member_id: str) -> Response:
    require(store, caller, "delete", "Members")
    member = _member(store, member_id)
    _guard_member_change(store, caller, member, "removed")
    member["deleted_at"] = now()
    return NO_CONTENT


def get_member_access(store: Store, caller: Caller, member_id: str) -> Response:
    require(store, caller, "read", "Members")
    member = _member(store, member_id)
    return ok(member_json(store, member) | {"apps": principal_apps(store, "user", member)})


def put_member_access(store: Store, caller: Caller, member_id: str, body: Any) -> Response:
    require(store, caller, "update", "Members")
    member = _member(store, member_id)
    if global_access(store.table("roles").get(member["role_id"] or "")):
        raise ApiError(403, "Access cannot be changed for members with a global access role.")
    put_access(store, caller, "user", member, body)
    return ok(member_json(store, member) | {"apps": principal_apps(store, "user", member)})


# -- invites -----------------------------------------------------------------------------


def _valid_invites(store: Store) -> list[Row]:
    stamp = now()
    return [i for i in store.table("invites").values() if i["valid"] and i["expires_at"] > stamp]


def list_invites(store: Store, caller: Caller) -> Response:
    require(store, caller, "read", "Members")
    invites = sorted(_valid_invites(store), key=lambda i: i["created_at"], reverse=True)
    return ok({"data": [invite_json(store, i) for i in invites]})


def create_invite(store: Store, caller: Caller, body: Any) -> Response:
    require(store, caller, "create", "Members")
    body = body_object(body)
    email = str(body.get("email") or "").strip().lower()
    if not email:
        raise ApiError(400, "Missing required field: email")
    if "@" not in email or "." not in email.split("@")[-1] or " " in email:
        raise ApiError(400, "Enter a valid email address.")
    if "apps" in body:
        raise ApiError(400, "Invites cannot grant app access; use the access endpoints.")
    role = find_role(store, body.get("role_id"))
    if global_access(role):
        raise ApiError(400, f"Members cannot be invited with the '{role['name']}' role.")
    if "create" in role_permissions(role)["permissions"].get("ServiceAccountTokens", []):
        raise ApiError(
            400, f"Members cannot be invited with the '{role['name']}' role (token creation)."
        )
    if any(
        m["email"] == email and m["deleted_at"] is None for m in store.table("members").values()
    ):
        raise ApiError(409, "This user is already a member of the organisation.")
    if any(i["email"] == email for i in _valid_invites(store)):
        raise ApiError(409, "An active invite already exists for this email.")
    expires = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=14)
    invited_by = (
        {"type": "member", "email": caller.row["email"]}
        if caller.kind == "user"
        else {"type": "service_account", "name": caller.row["name"]}
    )
    invite: Row = {
        "id": new_id(),
        "email": email,
        "role_id": role["id"],
        "invited_by": invited_by,
        "created_at": now(),
        "expires_at": expires.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "valid": True,
    }
    store.table("invites")[invite["id"]] = invite
    return ok(invite_json(store, invite), 201)


def delete_invite(store: Store, caller: Caller, invite_id: str) -> Response:
    require(store, caller, "delete", "Members")
    if store.table("invites").pop(invite_id, None) is None:
        raise ApiError(404, "Invite not found.")
    return NO_CONTENT


# -- teams -------------------------------------------------------------------------------


def _team(store: Store, caller: Caller, team_id: str) -> Row:
    team = active(store.table("teams"), team_id)
    if team is None:
        raise ApiError(404, "Team not found.")
    member = {"kind": caller.kind, "id": caller.id} in team["members"]
    if not global_access(caller.role) and not member:
        raise ApiError(403, "You don't have access to this team.")
    return team


def _teams_on_plan(store: Store) -> None:
    if store.org["plan"] == "FR":
        raise ApiError(403, "Teams are not available on your organisation's plan.")


def _team_role(store: Store, value: Any) -> str | None:
    if value in (None, ""):
        return None
    role = store.table("roles").get(str(value))
    if role is None:
        raise ApiError(404, "Role not found.")
    return str(role["id"])


def list_teams(store: Store, caller: Caller) -> Response:
    require(store, caller, "read", "Teams")
    teams = [t for t in store.table("teams").values() if t["deleted_at"] is None]
    teams.sort(key=lambda t: t["name"])
    return ok({"data": [team_json(store, t) for t in teams]})


def create_team(store: Store, caller: Caller, body: Any) -> Response:
    require(store, caller, "create", "Teams")
    _teams_on_plan(store)
    body = body_object(body)
    if "is_scim_managed" in body:
        raise ApiError(400, "'is_scim_managed' cannot be set through the API.")
    team: Row = {
        "id": new_id(),
        "name": text_field(body, "name", 64, required=True),
        "description": text_field(body, "description", 10000, required=False) or "",
        "member_role_id": _team_role(store, body.get("member_role_id")),
        "sa_role_id": _team_role(store, body.get("service_account_role_id")),
        "owner_id": caller.id if caller.kind == "user" else None,
        "members": [{"kind": caller.kind, "id": caller.id}],
        "envs": [],
        "created_at": now(),
        "updated_at": now(),
        "deleted_at": None,
    }
    store.table("teams")[team["id"]] = team
    return ok(team_detail(store, team), 201)


def get_team(store: Store, caller: Caller, team_id: str) -> Response:
    require(store, caller, "read", "Teams")
    return ok(team_detail(store, _team(store, caller, team_id)))


def update_team(store: Store, caller: Caller, team_id: str, body: Any) -> Response:
    require(store, caller, "update", "Teams")
    team = _team(store, caller, team_id)
    body = body_object(body)
    if "is_scim_managed" in body:
        raise ApiError(400, "'is_scim_managed' cannot be set through the API.")
    fields = {"name", "description", "member_role_id", "service_account_role_id"}
    if not fields & set(body):
        raise ApiError(400, "At least one field must be provided.")
    if "name" in body:
        team["name"] = text_field(body, "name", 64, required=True)
    if "description" in body:
        team["description"] = text_field(body, "description", 10000, required=False) or ""
    if "member_role_id" in body:
        team["member_role_id"] = _team_role(store, body["member_role_id"])
    if "service_account_role_id" in body:
        team["sa_role_id"] = _team_role(store, body["service_account_role_id"])
    team["updated_at"] = now()
    return ok(team_detail(store, team))


def delete_team(store: Store, caller: Caller, team_id: str) -> Response:
    require(store, caller, "delete", "Teams")
    team = _team(store, caller, team_id)
    for ref in team["members"]:
        for env_id in team["envs"]:
            store.revoke_grant(env_id, ref["kind"], ref["id"], f"team:{team['id']}")
    for sa in store.table("service_accounts").values():
        if sa["team_id"] == team["id"] and sa["deleted_at"] is None:
            sa["deleted_at"] = now()
    team["deleted_at"] = now()
    return NO_CONTENT


def _add_team_member(store: Store, team: Row, kind: str, principal_id: str) -> None:
    ref = {"kind": kind, "id": principal_id}
    if ref not in team["members"]:
        team["members"].append(ref)
    for env_id in team["envs"]:
        env = store.table("environments").get(env_id)
        if env is not None and env["server_key"]:
            store.grant_key(env, kind, principal_id, f"team:{team['id']}")


def add_team_members(store: Store, caller: Caller, team_id: str, body: Any) -> Response:
    require(store, caller, "update", "Teams")
    team = _team(store, caller, team_id)
    body = body_object(body)
    member_type = body.get("member_type", "user")
    if member_type not in ("user", "service_account"):
        raise ApiError(400, "'member_type' must be 'user' or 'service_account'.")
    ids = body.get("member_ids")
    if not isinstance(ids, list) or not ids:
        raise ApiError(400, "'member_ids' must be a non-empty list.")
    kind = "user" if member_type == "user" else "service"
    table = store.table("members" if kind == "user" else "service_accounts")
    missing = [str(i) for i in ids if active(table, str(i)) is None]
    if missing:
        raise ApiError(404, f"Not found: {', '.join(missing)}")
    for principal_id in ids:
        row = table[str(principal_id)]
        if kind == "service" and row["team_id"] not in (None, team["id"]):
            raise ApiError(409, "This service account belongs to another team.")
    for principal_id in ids:
        _add_team_member(store, team, kind, str(principal_id))
    team["updated_at"] = now()
    return ok(team_detail(store, team))


def remove_team_member(
    store: Store, caller: Caller, team_id: str, member_id: str, params: Any
) -> Response:
    require(store, caller, "update", "Teams")
    team = _team(store, caller, team_id)
    kind = "service" if query(params, "member_type") == "service_account" else "user"
    ref = {"kind": kind, "id": member_id}
    if ref not in team["members"]:
        raise ApiError(404, "Team membership not found.")
    if kind == "service" and store.table("service_accounts")[member_id]["team_id"] == team["id"]:
        raise ApiError(409, "A team's own service account cannot be removed; delete it instead.")
    for env_id in team["envs"]:
        store.revoke_grant(env_id, kind, member_id, f"team:{team['id']}")
    team["members"].remove(ref)
    return NO_CONTENT


def put_team_access(store: Store, caller: Caller, team_id: str, body: Any) -> Response:
    require(store, caller, "update", "Teams")
    team = _team(store, caller, team_id)
    apps_in = body_object(body).get("apps")
    if not isinstance(apps_in, list):
        raise ApiError(400, "'apps' must be a list.")
    wanted: list[str] = []
    for entry in apps_in:
        if not isinstance(entry, dict) or "id" not in entry:
            raise ApiError(400, "Each app entry must be an object with an 'id'.")
        envs = entry.get("environments")
        if not isinstance(envs, list) or not envs:
            raise ApiError(400, "'environments' must be a non-empty list.")
        app = store.table("apps").get(str(entry["id"]))
        if app is None:
            raise ApiError(404, f"App not found: {entry['id']}")
        if not app["sse_enabled"]:
            raise ApiError(
                400,
                f"App '{app['name']}' does not have SSE enabled. Only SSE apps can be "
                "granted to teams.",
            )
        if not global_access(caller.role) and not can_access_app(
            store, caller.kind, caller.row, app
        ):
            raise ApiError(403, f"You do not have access to app: {app['id']}")
        app_envs = {e["id"] for e in store.envs_of_app(app["id"])}
        missing = [str(e) for e in envs if str(e) not in app_envs]
        if missing:
            raise ApiError(404, f"Environments not found in app: {', '.join(missing)}")
        wanted += [str(e) for e in envs]
    grant = f"team:{team['id']}"
    for env_id in [e for e in team["envs"] if e not in wanted]:
        for ref in team["members"]:
            store.revoke_grant(env_id, ref["kind"], ref["id"], grant)
    team["envs"] = list(dict.fromkeys(wanted))
    for env_id in team["envs"]:
        env = store.table("environments")[env_id]
        for ref in team["members"]:
            store.grant_key(env, ref["kind"], ref["id"], grant)
    team["updated_at"] = now()
    return ok(team_detail(store, team))


# -- key shares --------------------------------------------------------------------------


def secrets_tokens(store: Store, caller: Caller, token: Row) -> Response:
    """``GET /secrets/tokens/``: the wrapped key share and every key row of the caller
    (snake_case, as that view renders)."""
    envs = store.table("environments")
    by_app: dict[str, list[Row]] = {}
    for key in store.keys_of(caller.kind, caller.id):
        env = envs.get(key["environment_id"])
        if env is None:
            continue
        by_app.setdefault(env["app_id"], []).append(
            {
                "id": key["id"],
                "environment": env_json(env),
                "paths": None,
                "identity_key": key["identity_key"],
                "wrapped_seed": key["wrapped_seed"],
                "wrapped_salt": key["wrapped_salt"],
                "created_at": key["created_at"],
                "updated_at": key["updated_at"],
                "deleted_at": None,
                "user": caller.id if caller.kind == "user" else None,
                "service_account": caller.id if caller.kind == "service" else None,
            }
        )
    apps = []
    for app_id, keys in by_app.items():
        app = store.table("apps")[app_id]
        encryption = "SSE" if app["sse_enabled"] else "E2E"
        apps.append(
            {"id": app_id, "name": app["name"], "encryption": encryption, "environment_keys": keys}
        )
    owner_key = "user_id" if caller.kind == "user" else "account_id"
    body: Row = {
        "wrapped_key_share": token["wrapped_key_share"],
        owner_key: caller.id,
        "offline_enabled": False,
        "organisation": {"id": store.org["id"], "name": store.org["name"]},
        "apps": apps,
    }
    return JSONResponse(body)
