"""``/v1/roles/`` (docs/phase-api.md#roles; ``api/views/roles.py``)."""

from __future__ import annotations

from typing import Any

from fastapi.responses import Response

from reconciler.sandbox.phase.call import Call, View
from reconciler.sandbox.phase.render import role_json
from reconciler.sandbox.phase.roles import APP_CLASSES, ORG_CLASSES
from reconciler.sandbox.phase.routes_apps import org_of
from reconciler.sandbox.phase.routes_members import invite_is_valid
from reconciler.sandbox.phase.store import Row, new_id, now
from reconciler.sandbox.phase.wire import ApiError, no_content, ok, validate_text

FREE_MESSAGE = "Custom roles are not available on your organisation's plan."


def roles_initial(call: Call) -> None:
    action = call.action()
    org_of(call)
    call.require(action, "Roles", "roles")


def _normalise(permissions: dict[str, Any]) -> dict[str, Any]:
    """``appPermissions`` is accepted as an alias of ``app_permissions``."""
    return {("app_permissions" if k == "appPermissions" else k): v for k, v in permissions.items()}


def _check_section(section: Any, valid: dict[str, list[str]], label: str, key: str) -> None:
    if section is None:
        return
    if not isinstance(section, dict):
        raise ApiError(400, f"{key} must be a JSON object.")
    for resource, actions in section.items():
        if resource not in valid:
            classes = ", ".join(sorted(valid))
            raise ApiError(
                400, f"Unknown {label} permission class: '{resource}'. Valid classes: {classes}."
            )
        if not isinstance(actions, list):
            raise ApiError(400, f"Actions for '{resource}' must be an array.")
        for action in actions:
            if action not in valid[resource]:
                allowed = ", ".join(sorted(valid[resource]))
                raise ApiError(
                    400,
                    f"Unknown action '{action}' for {label} permission class '{resource}'. "
                    f"Valid actions: {allowed}.",
                )


def validate_permissions(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise ApiError(400, "Permissions must be a JSON object.")
    permissions = _normalise(dict(raw))
    allowed = {"permissions", "app_permissions"}
    unknown = set(permissions) - allowed
    if unknown:
        raise ApiError(
            400,
            f"Unknown top-level keys: {', '.join(sorted(unknown))}. "
            "Allowed keys: permissions, app_permissions.",
        )
    missing = allowed - set(permissions)
    if missing:
        raise ApiError(
            400,
            f"Missing required keys: {', '.join(sorted(missing))}. "
            "Required keys: permissions, app_permissions.",
        )
    _check_section(permissions["permissions"], ORG_CLASSES, "org", "permissions")
    _check_section(permissions["app_permissions"], APP_CLASSES, "app", "app_permissions")
    return permissions


def _taken(call: Call, name: str, own: str | None) -> bool:
    return any(
        r["name"].lower() == name.lower() and r["id"] != own
        for r in call.store.table("roles").values()
    )


def list_roles(call: Call) -> Response:
    roles = sorted(call.store.table("roles").values(), key=lambda r: r["created_at"])
    return ok({"data": [role_json(r) for r in roles]})


def create_role(call: Call) -> Response:
    if call.store.plan == "FR":
        raise ApiError(403, FREE_MESSAGE)
    name = validate_text(call.get("name"), "name", 64)
    assert name is not None
    if _taken(call, name, None):
        raise ApiError(409, "A role with this name already exists.")
    permissions = call.get("permissions")
    if not permissions or not isinstance(permissions, dict):
        raise ApiError(400, "Missing required field: permissions (must be a JSON object)")
    permissions = validate_permissions(permissions)
    description = validate_text(call.get("description", ""), "description", 500, required=False)
    color = call.get("color", "")
    if color and len(str(color)) > 7:
        raise ApiError(400, "Role color cannot exceed 7 characters.")
    role: Row = {
        "id": new_id(),
        "name": name,
        "description": description or "",
        "color": color or "",
        "is_default": False,
        "permissions": permissions,
        "created_at": now(),
    }
    call.store.table("roles")[role["id"]] = role
    created = role_json(role, include_permissions=True)
    created["permissions"] = permissions  # echoed as sent; reads come back in jsonb order
    return ok(created, 201)


def _role(call: Call) -> Row:
    role = call.store.table("roles").get(call.path["role_id"])
    if role is None:
        raise ApiError(404, "Role not found.")
    return role


def get_role(call: Call) -> Response:
    return ok(role_json(_role(call), include_permissions=True))


def update_role(call: Call) -> Response:
    role = _role(call)
    if role["is_default"]:
        raise ApiError(403, "Default roles cannot be modified.")
    if call.store.plan == "FR":
        raise ApiError(403, FREE_MESSAGE)
    raw_name, raw_desc = call.get("name"), call.get("description")
    color, permissions = call.get("color"), call.get("permissions")
    if raw_name is None and raw_desc is None and color is None and permissions is None:
        raise ApiError(400, "At least one field must be provided.")
    updated = dict(role)
    if raw_name is not None:
        name = validate_text(raw_name, "name", 64)
        assert name is not None
        if _taken(call, name, role["id"]):
            raise ApiError(409, "A role with this name already exists.")
        updated["name"] = name
    if raw_desc is not None:
        updated["description"] = validate_text(raw_desc, "description", 500, required=False) or ""
    if color is not None:
        if len(str(color)) > 7:
            raise ApiError(400, "Role color cannot exceed 7 characters.")
        updated["color"] = color
    if permissions is not None:
        updated["permissions"] = validate_permissions(permissions)
    role.update(updated)
    body = role_json(role, include_permissions=True)
    if permissions is not None:
        body["permissions"] = updated["permissions"]
    return ok(body)


def delete_role(call: Call) -> Response:
    role = _role(call)
    store = call.store
    if role["is_default"]:
        raise ApiError(403, "Default roles cannot be deleted.")
    if any(
        m["role_id"] == role["id"] and m["deleted_at"] is None
        for m in store.table("members").values()
    ):
        raise ApiError(409, "Cannot delete a role that has members assigned to it.")
    if any(
        s["role_id"] == role["id"] and s["deleted_at"] is None
        for s in store.table("service_accounts").values()
    ):
        raise ApiError(409, "Cannot delete a role that has service accounts assigned to it.")
    if any(
        i["role_id"] == role["id"] and invite_is_valid(i) for i in store.table("invites").values()
    ):
        raise ApiError(409, "Cannot delete a role that has pending invites assigned to it.")
    for team in store.table("teams").values():
        if team["member_role_id"] == role["id"]:
            team["member_role_id"] = None
        if team["sa_role_id"] == role["id"]:
            team["sa_role_id"] = None
    del store.table("roles")[role["id"]]
    return no_content()


VIEWS = {
    "v1/roles/": View(roles_initial, {"GET": list_roles, "POST": create_role}),
    "v1/roles/{role_id}/": View(
        roles_initial, {"GET": get_role, "PUT": update_role, "DELETE": delete_role}
    ),
}
