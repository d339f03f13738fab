"""The declarative access PUT shared by members and service accounts
(docs/phase-api.md#service-accounts, #members, #e2ee-revocation-hazard,
#access-updates-replace-the-whole-set; ``PublicMemberAccessView.put``,
``PublicServiceAccountAccessView.put``).

Validation stops at the first failure, before anything is written. Then the whole individual
access set is replaced: apps of the principal's individual list that the body leaves out are
removed *whatever their encryption mode* (the E2EE revocation hazard: an E2EE app may not be
listed, so any such PUT revokes it and wipes its keys); listed environments gain an individual
grant, new ones a key the server wraps from its ``ServerEnvironmentKey``; unlisted ones lose
their individual grant.
"""

from __future__ import annotations

from reconciler.sandbox.phase import keys
from reconciler.sandbox.phase.access import can_access_app, can_access_env
from reconciler.sandbox.phase.call import Call
from reconciler.sandbox.phase.store import Row
from reconciler.sandbox.phase.wire import ApiError


def validate_access(call: Call, empty_hint: str) -> dict[str, set[str]]:
    """``{app_id: {env_id}}`` from the body, or the server's first validation error."""
    store = call.store
    apps_input = call.get("apps")
    if apps_input is None:
        raise ApiError(400, "Missing required field: apps")
    if not isinstance(apps_input, list):
        raise ApiError(400, "'apps' must be a list.")
    wanted: dict[str, set[str]] = {}
    caller = call.caller
    for entry in apps_input:
        if not isinstance(entry, dict):
            raise ApiError(
                400, "Each entry in 'apps' must be an object with 'id' and 'environments'."
            )
        app_id = entry.get("id")
        if not app_id:
            raise ApiError(400, "Each app entry must have an 'id' field.")
        app = store.table("apps").get(str(app_id))
        if app is None:
            raise ApiError(404, f"App not found: {app_id}")
        if not app["sse_enabled"]:
            raise ApiError(
                400,
                f"App '{app['name']}' does not have SSE enabled. Only SSE apps are supported.",
            )
        caller_global = call.caller_global()
        if not caller_global and not can_access_app(store, caller.kind, caller.row, app):
            raise ApiError(403, f"You don't have access to app '{app['name']}'.")
        env_ids = entry.get("environments")
        if not isinstance(env_ids, list):
            raise ApiError(
                400, "Each app entry must have an 'environments' list of environment IDs."
            )
        if not env_ids:
            raise ApiError(
                400,
                f"'environments' for app '{app_id}' must not be empty. To revoke all access, "
                f"{empty_hint}",
            )
        in_app = keys.app_env_ids(store, app["id"])
        valid = {str(e) for e in env_ids if str(e) in in_app}
        invalid = [str(e) for e in dict.fromkeys(str(e) for e in env_ids) if str(e) not in valid]
        if invalid:
            raise ApiError(
                404, f"Environment(s) not found in app '{app['name']}': {', '.join(invalid)}"
            )
        if not caller_global and any(
            not can_access_env(store, caller.kind, caller.id, e) for e in valid
        ):
            raise ApiError(
                403, f"You don't have access to one or more environments in app '{app['name']}'."
            )
        wanted[app["id"]] = valid
    return wanted


def apply_access(call: Call, kind: str, principal: Row, wanted: dict[str, set[str]]) -> None:
    """Replace the principal's individual access set (see the module docstring)."""
    store = call.store
    for app_id in [a for a in principal["apps"] if a not in wanted]:
        principal["apps"].remove(app_id)
        keys.revoke_individual(store, kind, principal["id"], keys.app_env_ids(store, app_id))
    for app_id, env_ids in wanted.items():
        if app_id not in principal["apps"]:
            principal["apps"].append(app_id)
        current = {
            k["environment_id"]
            for k in store.keys_of(kind, principal["id"])
            if k["environment_id"] in keys.app_env_ids(store, app_id)
        }
        keys.revoke_individual(store, kind, principal["id"], current - env_ids)
        envs = store.table("environments")
        for env_id in sorted(env_ids, key=lambda e: (envs[e]["index"], envs[e]["created_at"])):
            keys.grant_from_server(store, envs[env_id], kind, principal, keys.INDIVIDUAL)
