"""``/v1/teams/`` (docs/phase-api.md#teams, #team-and-individual-access; ``api/views/teams.py``).

A team row keeps its memberships (``members``: ``{kind, id}``) and its scope (``envs``: the
``TeamAppEnvironment`` rows, by environment id). Team grants are key grants ``team:<id>``.
"""

from __future__ import annotations

from fastapi.responses import Response

from reconciler.sandbox.phase import keys
from reconciler.sandbox.phase.access import can_access_app
from reconciler.sandbox.phase.call import Call, View
from reconciler.sandbox.phase.render import team_detail, team_json
from reconciler.sandbox.phase.routes_apps import org_of
from reconciler.sandbox.phase.routes_service_accounts import soft_delete_sa
from reconciler.sandbox.phase.store import Row, new_id, now, stamps
from reconciler.sandbox.phase.wire import ApiError, no_content, ok, query, validate_text

MEMBER_TYPES = ["service_account", "user"]
SCIM_FLAG = (
    "The is_scim_managed flag is set automatically by the SCIM provisioning flow and cannot be "
    "set via this endpoint."
)


def teams_initial(call: Call) -> None:
    action = call.action()
    org_of(call)
    call.require(action, "Teams", "teams")


def update_initial(call: Call) -> None:
    call.action()
    org_of(call)
    call.require("update", "Teams", "teams")


def _is_member(call: Call, team: Row) -> bool:
    return {"kind": call.caller.kind, "id": call.caller.id} in team["members"]


def _team(call: Call) -> Row:
    team = call.store.active("teams", call.path["team_id"])
    if team is None:
        raise ApiError(404, "Team not found.")
    return team


def _gate(call: Call, team: Row) -> None:
    if not call.caller_global() and not _is_member(call, team):
        raise ApiError(403, "You don't have access to this team.")


def _role_id(call: Call, value: object) -> str:
    role = call.store.table("roles").get(str(value))
    if role is None:
        raise ApiError(404, "Role not found.")
    return str(role["id"])


def list_teams(call: Call) -> Response:
    teams = [t for t in call.store.table("teams").values() if t["deleted_at"] is None]
    teams.sort(key=lambda t: t["name"])
    return ok({"data": [team_json(call.store, t) for t in teams]})


def create_team(call: Call) -> Response:
    store, caller = call.store, call.caller
    if store.plan == "FR":
        raise ApiError(403, "Teams are not available on your organisation's plan.")
    name = validate_text(call.get("name"), "name", 64)
    description = call.get("description")
    if description is not None:
        description = validate_text(description, "description", 10000, required=False)
    member_role = call.get("member_role_id")
    member_role_id = _role_id(call, member_role) if member_role else None
    sa_role = call.get("service_account_role_id")
    sa_role_id = _role_id(call, sa_role) if sa_role else None
    if call.has("is_scim_managed"):
        raise ApiError(400, SCIM_FLAG)
    created, updated = stamps()
    team: Row = {
        "id": new_id(),
        "name": name,
        "description": description or "",
        "member_role_id": member_role_id,
        "sa_role_id": sa_role_id,
        "owner_id": caller.id if caller.is_user else None,
        "created_by": caller.id if caller.is_user else None,
        "is_scim_managed": False,
        "members": [{"kind": caller.kind, "id": caller.id}],
        "envs": [],
        "created_at": created,
        "updated_at": updated,
        "deleted_at": None,
    }
    store.table("teams")[team["id"]] = team
    return ok(team_detail(store, team), 201)


def get_team(call: Call) -> Response:
    team = _team(call)
    _gate(call, team)
    return ok(team_detail(call.store, team))


def update_team(call: Call) -> Response:
    team = _team(call)
    _gate(call, team)
    if team["is_scim_managed"]:
        raise ApiError(
            403,
            "This team is managed by SCIM. Name, description, and role overrides must be "
            "updated via the SCIM provider.",
        )
    if call.has("is_scim_managed"):
        raise ApiError(400, SCIM_FLAG)
    raw_name, raw_desc = call.get("name"), call.get("description")
    raw_member_role = call.get("member_role_id")
    raw_sa_role = call.get("service_account_role_id")
    if raw_name is None and raw_desc is None and raw_member_role is None and raw_sa_role is None:
        raise ApiError(400, "At least one field must be provided.")
    changes: Row = {}
    if raw_name is not None:
        changes["name"] = validate_text(raw_name, "name", 64)
    if raw_desc is not None:
        changes["description"] = validate_text(raw_desc, "description", 10000, required=False) or ""
    if raw_member_role is not None:
        changes["member_role_id"] = (
            None if raw_member_role == "" else _role_id(call, raw_member_role)
        )
    if raw_sa_role is not None:
        changes["sa_role_id"] = None if raw_sa_role == "" else _role_id(call, raw_sa_role)
    team.update(changes)
    team["updated_at"] = now()
    return ok(team_detail(call.store, team))


def delete_team(call: Call) -> Response:
    store = call.store
    team = _team(call)
    _gate(call, team)
    if team["is_scim_managed"]:
        raise ApiError(
            403,
            "SCIM-managed teams cannot be deleted via the API. Delete the corresponding group in "
            "the SCIM provider.",
        )
    keys.revoke_team(store, team)
    for sa in store.table("service_accounts").values():
        if sa["team_id"] == team["id"] and sa["deleted_at"] is None:
            soft_delete_sa(store, sa)
    team["deleted_at"] = now()
    return no_content()


def _member_type(value: object) -> str:
    if value not in MEMBER_TYPES:
        raise ApiError(400, f"'member_type' must be one of {MEMBER_TYPES}.")
    return str(value)


def add_members(call: Call) -> Response:
    store = call.store
    team = _team(call)
    _gate(call, team)
    member_type = _member_type(call.get("member_type", "user"))
    if team["is_scim_managed"] and member_type == "user":
        raise ApiError(
            403,
            "User membership of SCIM-managed teams is controlled by the SCIM provider. "
            "Service-account additions are permitted.",
        )
    member_ids = call.get("member_ids")
    if not isinstance(member_ids, list) or not member_ids:
        raise ApiError(400, "'member_ids' must be a non-empty list.")
    kind = "user" if member_type == "user" else "service"
    rows = [store.principal(kind, str(i)) for i in member_ids]
    missing = [str(i) for i, row in zip(member_ids, rows, strict=True) if row is None]
    if missing:
        what = "Member(s)" if kind == "user" else "Service account(s)"
        raise ApiError(404, f"{what} not found: {', '.join(missing)}.")
    found = [r for r in rows if r is not None]
    if kind == "service":
        for sa in found:
            if sa["team_id"] is not None and sa["team_id"] != team["id"]:
                raise ApiError(
                    409,
                    f"Service account '{sa['name']}' is owned by another team and cannot be "
                    "added to this team.",
                )
    for row in found:
        ref = {"kind": kind, "id": row["id"]}
        if ref in team["members"]:
            continue
        team["members"].append(ref)
        for app_id in {store.table("environments")[e]["app_id"] for e in team["envs"]}:
            app = store.table("apps")[app_id]
            if app["sse_enabled"]:
                keys.provision_team(store, team, app, [(kind, row)])
    return ok(team_detail(store, team))


def remove_member(call: Call) -> Response:
    store = call.store
    team = _team(call)
    _gate(call, team)
    member_type = _member_type(query(call.params, "member_type") or "user")
    if team["is_scim_managed"] and member_type == "user":
        raise ApiError(
            403, "User membership of SCIM-managed teams is controlled by the SCIM provider."
        )
    member_id = call.path["member_id"]
    if member_type == "user":
        ref = {"kind": "user", "id": member_id}
        if ref not in team["members"]:
            raise ApiError(404, "Member not found in this team.")
    else:
        sa = store.active("service_accounts", member_id)
        if sa is None:
            raise ApiError(404, "Service account not found.")
        if sa["team_id"] == team["id"]:
            raise ApiError(
                409,
                "This service account is owned by the team and cannot be removed. Delete the "
                "service account or transfer it to the organisation level first.",
            )
        ref = {"kind": "service", "id": member_id}
        if ref not in team["members"]:
            raise ApiError(404, "Service account is not a member of this team.")
    keys.revoke_team(store, team, member=(ref["kind"], member_id))
    team["members"].remove(ref)
    return no_content()


def put_access(call: Call) -> Response:
    store = call.store
    team = _team(call)
    _gate(call, team)
    apps_input = call.get("apps")
    if apps_input is None:
        raise ApiError(400, "Missing required field: apps")
    if not isinstance(apps_input, list):
        raise ApiError(400, "'apps' must be a list.")
    desired: dict[str, tuple[Row, list[str]]] = {}
    for entry in apps_input:
        if not isinstance(entry, dict):
            raise ApiError(400, "Each entry in 'apps' must be an object.")
        app_id, env_ids = entry.get("id"), entry.get("environments")
        if not app_id:
            raise ApiError(400, "Each app entry must have an 'id'.")
        if not isinstance(env_ids, list) or not env_ids:
            raise ApiError(
                400,
                f"App entry for '{app_id}' must include a non-empty 'environments' list. To "
                "revoke all team access for an app, omit it from the body.",
            )
        app = store.table("apps").get(str(app_id))
        if app is None:
            raise ApiError(404, f"App not found: {app_id}.")
        if not app["sse_enabled"]:
            raise ApiError(
                400,
                f"App '{app['name']}' does not have SSE enabled. Only SSE apps can be granted to "
                "teams.",
            )
        caller = call.caller
        if not call.caller_global() and not can_access_app(store, caller.kind, caller.row, app):
            raise ApiError(403, f"You don't have access to app '{app['name']}'.")
        in_app = keys.app_env_ids(store, app["id"])
        missing = [str(e) for e in env_ids if str(e) not in in_app]
        if missing:
            raise ApiError(
                404, f"Environment(s) not found in app '{app['name']}': {', '.join(missing)}."
            )
        desired[app["id"]] = (app, list(dict.fromkeys(str(e) for e in env_ids)))
    envs = store.table("environments")
    wanted = {e for _app, env_ids in desired.values() for e in env_ids}
    dropped = {e for e in team["envs"] if e not in wanted}
    keys.revoke_team(store, team, env_ids=dropped)
    team["envs"] = [e for e in team["envs"] if e in wanted]
    for app, env_ids in desired.values():
        for env_id in env_ids:
            if env_id not in team["envs"] and env_id in envs:
                team["envs"].append(env_id)
        keys.provision_team(store, team, app)
    team["updated_at"] = now()
    return ok(team_detail(store, team))


VIEWS = {
    "v1/teams/": View(teams_initial, {"GET": list_teams, "POST": create_team}),
    "v1/teams/{team_id}/": View(
        teams_initial, {"GET": get_team, "PUT": update_team, "DELETE": delete_team}
    ),
    "v1/teams/{team_id}/members/": View(update_initial, {"POST": add_members}),
    "v1/teams/{team_id}/members/{member_id}/": View(update_initial, {"DELETE": remove_member}),
    "v1/teams/{team_id}/access/": View(update_initial, {"PUT": put_access}),
}
