"""Organisation routes of the Flagsmith sandbox (``api/organisations/``, ``api/users/``).

=========================================================  ===================================
``GET /organisations/``                                     the key's organisation (a page)
``GET /organisations/{org}/users/``                         members: a plain array (no paging)
``POST /organisations/{org}/users/{id}/update-role/``       ``{"role": "ADMIN"|"USER"}``
``POST /organisations/{org}/remove-users/``                 ``[{"id": user_id}, ...]``
``GET|POST /organisations/{org}/invites/``                  pending invites (a page); invite one
``DELETE /organisations/{org}/invites/{id}/``               cancel an invite
``GET|POST /organisations/{org}/groups/``                   groups with their users (a page)
``DELETE /organisations/{org}/groups/{id}/``                delete a group
``POST /organisations/{org}/groups/{id}/add-users/``        ``{"user_ids": [...]}``
``POST /organisations/{org}/groups/{id}/remove-users/``     ``{"user_ids": [...]}``
=========================================================  ===================================

An invite's list form (``InviteListSerializer``) has no ``role``; an accepted invite (control
API) makes the user a member with the invite's role and groups.
"""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse, Response

from reconciler.sandbox.flagsmith.api import Call, Handler
from reconciler.sandbox.flagsmith.store import Row, Store, now
from reconciler.sandbox.flagsmith.wire import (
    ApiError,
    as_int,
    field_error,
    invalid,
    not_found,
    page,
    require,
)

ROLES = ("ADMIN", "USER")


def user_shown(store: Store, user: Row, org_id: int | None = None) -> dict[str, Any]:
    out = {k: user.get(k) for k in ("id", "email", "first_name", "last_name", "last_login", "uuid")}
    if org_id is not None:
        member = store.membership(org_id, user["id"])
        out["role"] = member["role"] if member else None
        out["date_joined"] = member["date_joined"] if member else None
    return out


def group_shown(store: Store, group: Row) -> dict[str, Any]:
    users = []
    for uid in group["users"]:
        user = store.get("users", uid)
        if user is not None:
            shown = {k: user.get(k) for k in ("id", "email", "first_name", "last_name")}
            users.append(shown | {"last_login": None, "group_admin": uid in group["admins"]})
    fields = {k: group[k] for k in ("id", "name", "is_default", "external_id")}
    return fields | {"users": users}


def organisations(call: Call) -> Response:
    org = call.store.get("organisations", call.key["organisation"])
    rows = [{"id": org["id"], "uuid": org["uuid"], "name": org["name"]}] if org else []
    return JSONResponse(page(rows, call.params, call.url))


def users(call: Call) -> Response:
    org = call.organisation(call.path["org"])
    call.admin()
    members = call.store.rows("memberships", organisation=org["id"])
    found = [call.store.get("users", m["user"]) for m in members]
    return JSONResponse([user_shown(call.store, u, org["id"]) for u in found if u])


def update_role(call: Call) -> Response:
    org = call.organisation(call.path["org"])
    call.admin()
    user = call.store.get("users", call.path["id"])
    member = call.store.membership(org["id"], user["id"]) if user else None
    if user is None or member is None:
        raise not_found()
    role = require(call.body, "role")["role"]
    if role not in ROLES:
        raise field_error("role", f'"{role}" is not a valid choice.')
    member["role"] = role
    return JSONResponse(user_shown(call.store, user, org["id"]))


def remove_users(call: Call) -> Response:
    org = call.organisation(call.path["org"])
    call.admin()
    if not isinstance(call.body, list):
        raise invalid('Expected a list of items but got type "dict".')
    for item in call.body:
        uid = as_int(item.get("id") if isinstance(item, dict) else None, "id")
        member = call.store.membership(org["id"], uid)
        if member is not None:
            call.store.delete("memberships", member["id"])
        for group in call.store.rows("groups", organisation=org["id"]):
            group["users"] = [u for u in group["users"] if u != uid]
            group["admins"] = [u for u in group["admins"] if u != uid]
    return JSONResponse(call.body, 200)


def invites(call: Call) -> Response:
    org = call.organisation(call.path["org"])
    call.admin()
    if call.method == "GET":
        rows = [
            _invite_listed(call.store, i)
            for i in call.store.rows("invites", organisation=org["id"])
        ]
        return JSONResponse(page(rows, call.params, call.url))
    body = require(call.body, "email")
    email = str(body["email"]).strip().lower()
    if "@" not in email:
        raise field_error("email", "Enter a valid email address.")
    if call.store.rows("invites", organisation=org["id"], email=email):
        raise field_error("email", f"Invite for email {email} already exists")
    role = body.get("role", "USER")
    if role not in ROLES:
        raise field_error("role", f'"{role}" is not a valid choice.')
    groups = body.get("permission_groups") or []
    for gid in groups:
        group = call.store.get("groups", gid)
        if group is None or group["organisation"] != org["id"]:
            raise field_error("permission_groups", f'Invalid pk "{gid}" - object does not exist.')
    row = call.store.insert(
        "invites",
        {"organisation": org["id"], "email": email, "role": role, "date_created": now()}
        | {"permission_groups": [int(g) for g in groups], "invited_by": None},
    )
    fields = ("id", "email", "role", "date_created", "permission_groups")
    return JSONResponse({k: row[k] for k in fields}, 201)


def _invite_listed(store: Store, row: Row) -> dict[str, Any]:
    fields = ("id", "email", "date_created", "permission_groups")
    return {k: row[k] for k in fields} | {"invited_by": None}


def invite(call: Call) -> Response:
    org = call.organisation(call.path["org"])
    call.admin()
    row = call.store.get("invites", call.path["id"])
    if row is None or row["organisation"] != org["id"]:
        raise not_found()
    if call.method == "GET":
        return JSONResponse(_invite_listed(call.store, row))
    call.store.delete("invites", row["id"])
    return Response(status_code=204)


def groups(call: Call) -> Response:
    org = call.organisation(call.path["org"])
    call.admin()
    store = call.store
    if call.method == "GET":
        rows = [group_shown(store, g) for g in store.rows("groups", organisation=org["id"])]
        return JSONResponse(page(rows, call.params, call.url))
    body = require(call.body, "name")
    name = str(body["name"])
    if len(name) > 200:
        raise field_error("name", "Ensure this field has no more than 200 characters.")
    if store.rows("groups", organisation=org["id"], name=name):
        raise ApiError(
            400, {"non_field_errors": ["The fields organisation, name must make a unique set."]}
        )
    group = store.insert(
        "groups",
        {"organisation": org["id"], "name": name, "users": [], "admins": []}
        | {
            "is_default": bool(body.get("is_default", False)),
            "external_id": body.get("external_id"),
        },
    )
    return JSONResponse(group_shown(store, group), 201)


def _group(call: Call) -> Row:
    org = call.organisation(call.path["org"])
    call.admin()
    group = call.store.get("groups", call.path["id"])
    if group is None or group["organisation"] != org["id"]:
        raise not_found()
    return group


def group(call: Call) -> Response:
    found = _group(call)
    if call.method == "GET":
        return JSONResponse(group_shown(call.store, found))
    for grant in ("project_permissions", "environment_permissions"):
        for row in call.store.rows(grant, group=found["id"]):
            call.store.delete(grant, row["id"])
    call.store.delete("groups", found["id"])
    return Response(status_code=204)


def group_users(call: Call) -> Response:
    found = _group(call)
    body = require(call.body, "user_ids")
    ids = body["user_ids"]
    if not isinstance(ids, list):
        raise field_error("user_ids", 'Expected a list of items but got type "str".')
    wanted = [as_int(i, "user_ids") for i in ids]
    for uid in wanted:
        if call.store.membership(found["organisation"], uid) is None:
            raise invalid("Some users not found")  # users.views: UserIdsSerializer
    if call.url.rstrip("/").endswith("add-users"):
        found["users"] = sorted(set(found["users"]) | set(wanted))
    else:
        found["users"] = [u for u in found["users"] if u not in wanted]
        found["admins"] = [u for u in found["admins"] if u not in wanted]
    return JSONResponse(group_shown(call.store, found))


ROUTES: list[tuple[str, str, Handler]] = [
    ("GET", "/organisations/", organisations),
    ("GET", "/organisations/{org}/users/", users),
    ("POST", "/organisations/{org}/users/{id}/update-role/", update_role),
    ("POST", "/organisations/{org}/remove-users/", remove_users),
    ("GET", "/organisations/{org}/invites/", invites),
    ("POST", "/organisations/{org}/invites/", invites),
    ("GET", "/organisations/{org}/invites/{id}/", invite),
    ("DELETE", "/organisations/{org}/invites/{id}/", invite),
    ("GET", "/organisations/{org}/groups/", groups),
    ("POST", "/organisations/{org}/groups/", groups),
    ("GET", "/organisations/{org}/groups/{id}/", group),
    ("DELETE", "/organisations/{org}/groups/{id}/", group),
    ("POST", "/organisations/{org}/groups/{id}/add-users/", group_users),
    ("POST", "/organisations/{org}/groups/{id}/remove-users/", group_users),
]
