"""``/v1/apps/`` and ``/v1/environments/`` (docs/phase-api.md#apps, #environments;
``api/views/apps.py``, ``api/views/environments.py``)."""

from __future__ import annotations

from fastapi.responses import Response

from reconciler.crypto import primitives as p
from reconciler.sandbox.phase import keys
from reconciler.sandbox.phase.access import can_access_app, can_access_env
from reconciler.sandbox.phase.call import Call, View
from reconciler.sandbox.phase.render import app_json, env_json
from reconciler.sandbox.phase.store import Row, Store, new_id, now, stamps
from reconciler.sandbox.phase.wire import (
    ENV_NAME,
    ENV_NAME_MESSAGE,
    ApiError,
    internal_error,
    no_content,
    ok,
    validate_text,
)

MAX_APPS = {"FR": 3}
MAX_ENVS = {"FR": 3, "PR": 10}


def org_of(call: Call) -> None:
    """``_get_org``: org mode, or the org of the app resolved from the request."""
    if not (call.auth.org_only or call.auth.app is not None):
        raise ApiError(403, "Could not resolve organisation from request.")


# -- /v1/apps/ ---------------------------------------------------------------------------


def apps_initial(call: Call) -> None:
    action = call.action()
    org_of(call)
    call.require(action, "Apps", "apps")


def list_apps(call: Call) -> Response:
    caller = call.caller
    apps = [
        a
        for a in call.store.table("apps").values()
        if can_access_app(call.store, caller.kind, caller.row, a)
    ]
    apps.sort(key=lambda a: a["created_at"], reverse=True)
    return ok({"data": [app_json(a) for a in apps]})


def _custom_env_names(call: Call) -> list[str] | None:
    names = call.get("environments")
    if names is None:
        return None
    if not isinstance(names, list):
        raise ApiError(400, "'environments' must be a list of environment names.")
    if not names:
        raise ApiError(400, "'environments' must not be empty.")
    for name in names:
        if not isinstance(name, str) or not name.strip():
            raise ApiError(400, "Each environment name must be a non-empty string.")
    seen: set[str] = set()
    for name in names:
        if name.strip().lower() in seen:
            raise ApiError(400, f"Duplicate environment name: '{name.strip()}'.")
        seen.add(name.strip().lower())
    plan = call.store.plan
    if plan == "FR":
        raise ApiError(403, "Custom environments are not available on the Free plan.")
    if plan in MAX_ENVS and len(names) > MAX_ENVS[plan]:
        raise ApiError(403, "Environment quota exceeded for this app's plan.")
    return [n.strip() for n in names]


def create_app(call: Call) -> Response:
    store = call.store
    if not isinstance(call.data, dict):
        raise ApiError(400, "Request body must be a JSON object.")
    name = validate_text(call.get("name"), "name", 64)
    description = call.get("description")
    if description is not None:
        description = validate_text(description, "description", 10000, required=False)
    names = _custom_env_names(call)
    limit = MAX_APPS.get(store.plan)
    if limit is not None and len(store.table("apps")) >= limit:
        raise ApiError(403, "App quota exceeded for this organisation's plan.")
    caller = call.caller
    specs = [(n, "custom") for n in names] if names is not None else list(keys.DEFAULT_ENVS)
    try:  # one transaction on the server: check first, so nothing is half made
        keys.check_can_create(store, [n for n, _ in specs], (caller.kind, caller.row))
    except keys.ProvisionError as exc:
        raise ApiError(400, str(exc)) from None
    app = new_app(store, str(name), description, sse=True)
    caller.row["apps"].append(app["id"])
    for member in store.table("members").values():
        role = store.role_of(member)
        admin = role is not None and role["name"].lower() in ("owner", "admin")
        if admin and member["deleted_at"] is None and app["id"] not in member["apps"]:
            member["apps"].append(app["id"])
    created = [
        keys.create_environment(store, app, env_name, env_type, (caller.kind, caller.row))
        for env_name, env_type in specs
    ]
    return ok(app_json(app) | {"environments": [env_json(e) for e in created]}, 201)


def new_app(store: Store, name: str, description: str | None, *, sse: bool) -> Row:
    """An app row with the legacy app keys the server generates (``api/views/apps.py``)."""
    app_seed, app_token, wrap_key = p.random_hex(), p.random_hex(), p.random_hex()
    identity_pub, identity_priv = p.kx_seed_keypair(app_seed)
    _share0, share1 = p.split_secret_hex(identity_priv)
    _server_pk, server_sk = store.server_keypair()
    created, updated = stamps()
    app: Row = {
        "id": new_id(),
        "name": name,
        "description": description,
        "sse_enabled": sse,
        "identity_key": identity_pub,
        "app_token": app_token,
        "app_seed": p.encrypt_raw(app_seed, bytes.fromhex(server_sk)).hex(),
        "wrapped_key_share": p.wrap_share_hex(share1, wrap_key),
        "app_version": 1,
        "created_at": created,
        "updated_at": updated,
    }
    store.table("apps")[app["id"]] = app
    return app


# -- /v1/apps/{app_id}/ ------------------------------------------------------------------


def _app_mode(call: Call) -> Row:
    app = call.auth.app
    if app is None:
        raise ApiError(403, "Could not resolve app from request.")
    if not app["sse_enabled"]:
        raise ApiError(403, "SSE is not enabled for this App.")
    return app


def _app_access(call: Call, app: Row) -> None:
    caller = call.caller
    if not can_access_app(call.store, caller.kind, caller.row, app):
        if caller.is_user:
            raise ApiError(403, "You do not have access to this app.")
        raise ApiError(403, "Service account does not have access to this app.")


def app_detail_initial(call: Call) -> None:
    app = _app_mode(call)
    action = call.action()
    _app_access(call, app)
    call.require(action, "Apps", "apps", False, app)


def get_app(call: Call) -> Response:
    assert call.auth.app is not None
    return ok(app_json(call.auth.app))


def update_app(call: Call) -> Response:
    app = call.auth.app
    assert app is not None
    raw_name, raw_desc = call.get("name"), call.get("description")
    if raw_name is None and raw_desc is None:
        raise ApiError(400, "At least one of 'name' or 'description' must be provided.")
    if raw_name is not None:
        app["name"] = validate_text(raw_name, "name", 64)
    if raw_desc is not None:
        app["description"] = validate_text(raw_desc, "description", 10000, required=False)
    app["updated_at"] = now()
    return ok(app_json(app))


def delete_app(call: Call) -> Response:
    assert call.auth.app is not None
    keys.delete_app(call.store, call.auth.app["id"])
    return no_content()


# -- /v1/environments/ -------------------------------------------------------------------


def envs_initial(call: Call) -> None:
    app = _app_mode(call)
    action = call.action()
    _app_access(call, app)
    call.require(action, "Environments", "environments", True, app)


def list_envs(call: Call) -> Response:
    app = call.auth.app
    assert app is not None
    caller = call.caller
    envs = [
        env_json(e)
        for e in call.store.envs_of_app(app["id"])
        if can_access_env(call.store, caller.kind, caller.id, e["id"])
    ]
    return ok({"data": envs})


def create_env(call: Call) -> Response:
    app = call.auth.app
    assert app is not None
    store = call.store
    name = call.get("name")
    if not name:
        raise ApiError(400, "Missing required field: name")
    limit = MAX_ENVS.get(store.plan)
    if limit is not None and len(store.envs_of_app(app["id"])) >= limit:
        raise ApiError(403, "Environment quota exceeded for this app's plan.")
    if store.plan == "FR":
        raise ApiError(403, "Custom environments are not available on the Free plan.")
    if not isinstance(name, str):
        raise internal_error()  # ENV_NAME_RE.match(name) raises TypeError on the server
    caller = call.caller
    try:
        env = keys.create_environment(store, app, name, "custom", (caller.kind, caller.row))
    except keys.ProvisionError as exc:
        raise ApiError(400, str(exc)) from None
    return ok(env_json(env), 201)


def _env(call: Call) -> Row:
    """The env of the URL, within the resolved app, that the caller holds a key for."""
    app = call.auth.app
    assert app is not None
    env = call.store.table("environments").get(call.path["env_id"])
    if env is None or env["app_id"] != app["id"]:
        raise ApiError(404, "Environment not found")
    caller = call.caller
    if not can_access_env(call.store, caller.kind, caller.id, env["id"]):
        if caller.is_user:
            raise ApiError(403, "You don't have access to this environment.")
        raise ApiError(403, "Service account doesn't have access to this environment.")
    return env


def get_env(call: Call) -> Response:
    return ok(env_json(_env(call)))


def update_env(call: Call) -> Response:
    env = _env(call)
    name = call.get("name")
    if not name:
        raise ApiError(400, "Missing required field: name")
    if not isinstance(name, str):
        raise internal_error()  # ENV_NAME_RE.match(name) raises TypeError on the server
    if not ENV_NAME.match(name):
        raise ApiError(400, ENV_NAME_MESSAGE)
    if env["env_type"] not in ("dev", "staging", "prod") and call.store.plan == "FR":
        raise ApiError(403, "Custom environments are not available on the Free plan.")
    others = call.store.envs_of_app(env["app_id"])
    if any(e["name"].lower() == name.lower() and e["id"] != env["id"] for e in others):
        raise ApiError(409, f"An environment named '{name}' already exists in this app.")
    env["name"] = name
    env["updated_at"] = now()
    return ok(env_json(env))


def delete_env(call: Call) -> Response:
    env = _env(call)
    if env["env_type"] not in ("dev", "staging", "prod") and call.store.plan == "FR":
        raise ApiError(403, "Custom environments are not available on the Free plan.")
    keys.delete_environment(call.store, env["id"])
    return no_content()


VIEWS = {
    "v1/apps/": View(apps_initial, {"GET": list_apps, "POST": create_app}),
    "v1/apps/{app_id}/": View(
        app_detail_initial, {"GET": get_app, "PUT": update_app, "DELETE": delete_app}
    ),
    "v1/environments/": View(envs_initial, {"GET": list_envs, "POST": create_env}),
    "v1/environments/{env_id}/": View(
        envs_initial, {"GET": get_env, "PUT": update_env, "DELETE": delete_env}
    ),
}
