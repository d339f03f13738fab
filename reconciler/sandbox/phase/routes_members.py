"""``/v1/members/`` and ``/v1/members/invites/`` (docs/phase-api.md#members, #invites;
``api/views/members.py``)."""

from __future__ import annotations

import datetime
from collections.abc import Callable

from fastapi.responses import Response

from reconciler.sandbox.phase.access import role_has_global_access, role_has_permission
from reconciler.sandbox.phase.call import Call, View
from reconciler.sandbox.phase.grants import apply_access, validate_access
from reconciler.sandbox.phase.render import invite_json, member_access, member_json
from reconciler.sandbox.phase.routes_apps import org_of
from reconciler.sandbox.phase.store import Row, Store, new_id, now
from reconciler.sandbox.phase.wire import (
    ApiError,
    instant,
    no_content,
    not_allowed,
    ok,
    parse_instant,
    validate_email,
)

INVITE_EXPIRY_DAYS = 14


def invite_is_valid(invite: Row) -> bool:
    """Valid and not expired."""
    if not invite["valid"]:
        return False
    return parse_instant(invite["expires_at"]) >= datetime.datetime.now(datetime.UTC)


def valid_invites(store: Store) -> list[Row]:
    return [i for i in store.table("invites").values() if invite_is_valid(i)]


def _check(call: Call, action: str) -> None:
    org_of(call)
    call.require(action, "Members", "members")


def _initial(allowed: tuple[str, ...] | None) -> Callable[[Call], None]:
    """Views restricted by ``http_method_names`` answer 405 before the permission check."""

    def initial(call: Call) -> None:
        if allowed is not None and call.method not in allowed:
            raise not_allowed(call.method)
        _check(call, call.action())

    return initial


def _member(call: Call) -> Row:
    member = call.store.active("members", call.path["member_id"])
    if member is None:
        raise ApiError(404, "Member not found.")
    return member


def _is_owner(store: Store, member: Row) -> bool:
    role = store.role_of(member)
    return role is not None and role["is_default"] and role["name"].lower() == "owner"


def list_members(call: Call) -> Response:
    members = [m for m in call.store.table("members").values() if m["deleted_at"] is None]
    members.sort(key=lambda m: m["created_at"])
    return ok({"data": [member_json(call.store, m) for m in members]})


def get_member(call: Call) -> Response:
    return ok(member_json(call.store, _member(call)))


def update_member(call: Call) -> Response:
    store, caller = call.store, call.caller
    member = _member(call)
    role = store.role_of(member)
    if _is_owner(store, member):
        raise ApiError(
            403, "The Owner role cannot be changed via the API. Use the ownership transfer flow."
        )
    if caller.is_user:
        if caller.id == member["id"]:
            raise ApiError(403, "You cannot update your own role.")
        if role_has_global_access(role) and not call.caller_global():
            raise ApiError(403, "You cannot update the role of a member with global access.")
    elif role_has_global_access(role):
        raise ApiError(403, "Service accounts cannot modify members with global access.")
    role_id = call.get("role_id")
    if not role_id:
        raise ApiError(400, "Missing required field: role_id")
    new_role = store.table("roles").get(str(role_id))
    if new_role is None:
        raise ApiError(404, "Role not found.")
    if new_role["name"].lower() == "owner":
        raise ApiError(
            403, "You cannot assign the Owner role directly. Use the ownership transfer flow."
        )
    if role_has_global_access(new_role) and not (caller.is_user and call.caller_global()):
        raise ApiError(403, f"You cannot assign the '{new_role['name']}' role.")
    if not member["identity_key"] and (
        role_has_global_access(new_role)
        or role_has_permission(new_role, "create", "ServiceAccountTokens")
    ):
        raise ApiError(
            403,
            "This member hasn't completed account setup yet — wait until they sign in for the "
            "first time before assigning a role with global access or service account token "
            "permissions.",
        )
    member["role_id"] = new_role["id"]
    member["updated_at"] = now()
    return ok(member_json(store, member))


def delete_member(call: Call) -> Response:
    store, caller = call.store, call.caller
    member = _member(call)
    if _is_owner(store, member):
        raise ApiError(
            403, "The Owner cannot be removed via the API. Use the ownership transfer flow."
        )
    role = store.role_of(member)
    if caller.is_user:
        if caller.id == member["id"]:
            raise ApiError(403, "You cannot remove yourself from the organisation.")
        if role_has_global_access(role) and not call.caller_global():
            raise ApiError(403, "You cannot remove a member with a global access role.")
    elif role_has_global_access(role):
        raise ApiError(403, "Service accounts cannot remove members with global access.")
    member["deleted_at"] = now()  # soft delete: keys, PATs and memberships stay
    return no_content()


def get_member_access(call: Call) -> Response:
    return ok(member_access(call.store, _member(call)))


def put_member_access(call: Call) -> Response:
    store = call.store
    member = _member(call)
    if role_has_global_access(store.role_of(member)):
        raise ApiError(403, "Access cannot be changed for members with a global access role.")
    identity = member["identity_key"]
    if not isinstance(identity, str) or not identity.strip():
        raise ApiError(
            400,
            "Member has not set up their identity key yet. They must log in to the console first.",
        )
    wanted = validate_access(call, "remove the app from the list entirely.")
    apply_access(call, "user", member, wanted)
    return ok(member_access(store, member))


def list_invites(call: Call) -> Response:
    invites = sorted(valid_invites(call.store), key=lambda i: i["created_at"], reverse=True)
    return ok({"data": [invite_json(call.store, i) for i in invites]})


def create_invite(call: Call) -> Response:
    store, caller = call.store, call.caller
    email = validate_email(call.get("email", ""))
    role_id = call.get("role_id")
    if not role_id:
        raise ApiError(400, "Missing required field: role_id")
    role = store.table("roles").get(str(role_id))
    if role is None:
        raise ApiError(404, "Role not found.")
    if role_has_global_access(role):
        raise ApiError(400, f"Members cannot be invited with the '{role['name']}' role.")
    if role_has_permission(role, "create", "ServiceAccountTokens"):
        raise ApiError(
            400,
            "Members cannot be invited with a role that allows creating service account tokens.",
        )
    if any(
        m["email"] == email and m["deleted_at"] is None for m in store.table("members").values()
    ):
        raise ApiError(409, f"'{email}' is already a member of this organisation.")
    if any(i["email"] == email for i in valid_invites(store)):
        raise ApiError(409, f"An active invite already exists for '{email}'.")
    if store.plan == "FR":
        seats = len([m for m in store.table("members").values() if m["deleted_at"] is None])
        seats += len(valid_invites(store))
        seats += len([s for s in store.table("service_accounts").values() if not s["deleted_at"]])
        if seats + 1 > 5:
            raise ApiError(403, "Member quota exceeded for this organisation's plan.")
    if call.has("apps"):
        raise ApiError(
            400,
            "The 'apps' field is not accepted when creating an invite. Use PUT "
            "/v1/members/<id>/access/ after the invitee accepts and completes their key "
            "ceremony.",
        )
    invited_by = (
        {"type": "member", "email": caller.row["email"]}
        if caller.is_user
        else {"type": "service_account", "name": caller.row["name"]}
    )
    expires = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=INVITE_EXPIRY_DAYS)
    invite: Row = {
        "id": new_id(),
        "email": email,
        "role_id": role["id"],
        "invited_by": invited_by,
        "created_at": now(),
        "expires_at": instant(expires),
        "valid": True,
    }
    store.table("invites")[invite["id"]] = invite
    return ok(invite_json(store, invite), 201)


def delete_invite(call: Call) -> Response:
    if call.store.table("invites").pop(call.path["invite_id"], None) is None:
        raise ApiError(404, "Invite not found.")
    return no_content()


ANY = _initial(None)
VIEWS = {
    "v1/members/": View(_initial(("GET",)), {"GET": list_members}),
    "v1/members/invites/": View(
        _initial(("GET", "POST")), {"GET": list_invites, "POST": create_invite}
    ),
    "v1/members/invites/{invite_id}/": View(_initial(("DELETE",)), {"DELETE": delete_invite}),
    "v1/members/{member_id}/": View(
        ANY, {"GET": get_member, "PUT": update_member, "DELETE": delete_member}
    ),
    "v1/members/{member_id}/access/": View(
        ANY, {"GET": get_member_access, "PUT": put_member_access}
    ),
}
