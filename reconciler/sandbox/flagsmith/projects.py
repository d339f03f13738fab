"""Project, environment and permission routes of the Flagsmith sandbox (``api/projects/``,
``api/environments/``).

==================================================================  =============================
``GET /projects/?organisation={id}``                                 a plain array
                                                                     (``pagination_class = None``)
``POST /projects/``                                                  ``{"name", "organisation"}``
``GET|PATCH|DELETE /projects/{id}/``                                 delete cascades
``GET /environments/?project={id}``                                  a page of 10
``POST /environments/``                                              ``{"name", "project"}``
``GET|DELETE /environments/{api_key}/``
``GET|POST /projects/{id}/user-permissions/``                        ``{"user", "admin",
``GET|POST /projects/{id}/user-group-permissions/``                  "permissions"}`` /
``PUT|PATCH|DELETE .../{perm_id}/``                                  ``{"group", ...}``
``GET|POST /environments/{api_key}/user-permissions/`` (and groups)  the same per environment
==================================================================  =============================

Permission keys are checked against the server's permission models (an unknown key: 400
``Invalid pk "X" - object does not exist.``). Grant lists are plain arrays.
"""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from fastapi.responses import JSONResponse, Response

from reconciler.sandbox.flagsmith.api import Call, Handler
from reconciler.sandbox.flagsmith.org import group_shown, user_shown
from reconciler.sandbox.flagsmith.store import Row
from reconciler.sandbox.flagsmith.wire import (
    ApiError,
    as_int,
    boolean,
    field_error,
    invalid,
    not_found,
    page,
    require,
)

PROJECT_PERMISSIONS = (
    "VIEW_PROJECT",
    "CREATE_ENVIRONMENT",
    "DELETE_FEATURE",
    "CREATE_FEATURE",
    "EDIT_FEATURE",
    "MANAGE_SEGMENTS",
    "VIEW_AUDIT_LOG",
    "MANAGE_TAGS",
    "MANAGE_PROJECT_LEVEL_CHANGE_REQUESTS",
    "APPROVE_PROJECT_LEVEL_CHANGE_REQUESTS",
    "CREATE_PROJECT_LEVEL_CHANGE_REQUESTS",
)
ENVIRONMENT_PERMISSIONS = (
    "VIEW_ENVIRONMENT",
    "UPDATE_FEATURE_STATE",
    "MANAGE_IDENTITIES",
    "VIEW_IDENTITIES",
    "CREATE_CHANGE_REQUEST",
    "APPROVE_CHANGE_REQUEST",
    "MANAGE_SEGMENT_OVERRIDES",
)


def project_shown(row: Row) -> dict[str, Any]:
    fields = ("id", "uuid", "name", "organisation", "hide_disabled_flags")
    return {k: row.get(k) for k in fields} | {
        "enable_dynamo_db": False,
        "use_edge_identities": False,
    }


def environment_shown(row: Row) -> dict[str, Any]:
    fields = ("id", "name", "api_key", "project", "description")
    return {k: row.get(k) for k in fields} | {"minimum_change_request_approvals": None}


def project_of(call: Call, raw: Any) -> Row:
    """A project of the key's organisation (404 when unknown, 403 when another's)."""
    project = call.store.get("projects", raw)
    if project is None:
        raise not_found()
    call.organisation(project["organisation"])
    return project


def environment_of(call: Call, api_key: str) -> Row:
    found = [e for e in call.store.table("environments").values() if e["api_key"] == api_key]
    if not found:
        raise not_found()
    project_of(call, found[0]["project"])
    return found[0]


def projects(call: Call) -> Response:
    store = call.store
    if call.method == "GET":
        if not call.key.get("is_admin"):
            return JSONResponse([])
        org_id = call.key["organisation"]
        if "organisation" in call.params:
            try:
                int(call.params["organisation"])
            except ValueError:
                raise ApiError(400, {"organisation": "Must be a valid integer."}) from None
        rows = store.rows("projects", organisation=org_id)
        if call.params.get("organisation") not in (None, str(org_id)):
            rows = []
        return JSONResponse([project_shown(r) for r in rows])
    call.admin()
    body = require(call.body, "name", "organisation")
    org = call.organisation(as_int(body["organisation"], "organisation"))
    name = str(body["name"])
    if len(name) > 2000:
        raise field_error("name", "Ensure this field has no more than 2000 characters.")
    if store.rows("projects", organisation=org["id"], name=name):
        raise ApiError(400, {"non_field_errors": ["A project with this name already exists."]})
    row = store.insert(
        "projects",
        {
            "name": name,
            "organisation": org["id"],
            "uuid": str(uuid.uuid4()),
            "hide_disabled_flags": False,
        },
    )
    return JSONResponse(project_shown(row), 201)


def project(call: Call) -> Response:
    row = project_of(call, call.path["id"])
    if call.method == "GET":
        return JSONResponse(project_shown(row))
    call.admin()
    if call.method == "DELETE":
        call.store.delete_project(row["id"])
        return Response(status_code=204)
    body = call.body if isinstance(call.body, dict) else {}
    if "name" in body:
        row["name"] = str(body["name"])
    return JSONResponse(project_shown(row))


def environments(call: Call) -> Response:
    store = call.store
    if call.method == "GET":
        raw = call.params.get("project")
        found = store.get("projects", raw) if raw else None
        if found is None:
            raise invalid("Invalid or missing value for project parameter.")
        project_of(call, found["id"])
        rows = [environment_shown(e) for e in store.rows("environments", project=found["id"])]
        return JSONResponse(page(rows if call.key.get("is_admin") else [], call.params, call.url))
    call.admin()
    body = require(call.body, "name", "project")
    parent = project_of(call, as_int(body["project"], "project"))
    name = str(body["name"])
    if store.rows("environments", project=parent["id"], name=name):
        raise ApiError(
            400, {"non_field_errors": ["The fields name, project must make a unique set."]}
        )
    row = store.insert(
        "environments",
        {"name": name, "project": parent["id"], "api_key": secrets.token_urlsafe(16)[:22]}
        | {"description": body.get("description")},
    )
    return JSONResponse(environment_shown(row), 201)


def environment(call: Call) -> Response:
    row = environment_of(call, call.path["api_key"])
    if call.method == "GET":
        return JSONResponse(environment_shown(row))
    call.admin()
    call.store.delete_environment(row["id"])
    return Response(status_code=204)


def _scope(call: Call) -> tuple[str, str, int, tuple[str, ...]]:
    """(table, parent field, parent id, permission keys) of a permission route."""
    call.admin()
    if "api_key" in call.path:
        env = environment_of(call, call.path["api_key"])
        return "environment_permissions", "environment", env["id"], ENVIRONMENT_PERMISSIONS
    parent = project_of(call, call.path["id"])
    return "project_permissions", "project", parent["id"], PROJECT_PERMISSIONS


def _grant_shown(call: Call, row: Row, listed: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": row["id"],
        "permissions": row["permissions"],
        "admin": row["admin"],
    }
    who = "user" if row.get("user") is not None else "group"
    if not listed:
        return out | {who: row[who]}
    if who == "user":
        user = call.store.get("users", row["user"])
        return out | {"user": user_shown(call.store, user) if user else None}
    group = call.store.get("groups", row["group"])
    return out | {"group": group_shown(call.store, group) if group else None}


def _grant_fields(call: Call, body: Any, keys: tuple[str, ...], partial: bool) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise invalid("Invalid data. Expected a dictionary, but got list.")
    out: dict[str, Any] = {}
    if "admin" in body or not partial:
        out["admin"] = boolean(body, "admin", False)
    if "permissions" in body or not partial:
        perms = body.get("permissions", [])
        if not isinstance(perms, list):
            raise field_error("permissions", 'Expected a list of items but got type "str".')
        for key in perms:
            if key not in keys:
                raise field_error("permissions", f'Invalid pk "{key}" - object does not exist.')
        out["permissions"] = sorted(set(perms), key=perms.index)
    return out


def grants(call: Call) -> Response:
    table, parent_field, parent_id, keys = _scope(call)
    who = "group" if call.url.rstrip("/").endswith("user-group-permissions") else "user"
    store = call.store
    if call.method == "GET":
        rows = [r for r in store.rows(table, **{parent_field: parent_id}) if r.get(who) is not None]
        return JSONResponse([_grant_shown(call, r, listed=True) for r in rows])
    body = require(call.body, who)
    ref = as_int(body[who], who)
    org_id = call.key["organisation"]
    if who == "user" and store.membership(org_id, ref) is None:
        raise field_error("user", f'Invalid pk "{ref}" - object does not exist.')
    group = store.get("groups", ref) if who == "group" else None
    if who == "group" and (group is None or group["organisation"] != org_id):
        raise field_error("group", f'Invalid pk "{ref}" - object does not exist.')
    if store.rows(table, **{parent_field: parent_id, who: ref}):
        raise ApiError(
            400, {"non_field_errors": [f"The fields {who}, {parent_field} must make a unique set."]}
        )
    fields = _grant_fields(call, body, keys, partial=False)
    other = "group" if who == "user" else "user"
    row = store.insert(table, {parent_field: parent_id, who: ref, other: None, **fields})
    return JSONResponse(_grant_shown(call, row, listed=False), 201)


def grant(call: Call) -> Response:
    table, parent_field, parent_id, keys = _scope(call)
    row = call.store.get(table, call.path["perm"])
    if row is None or row[parent_field] != parent_id:
        raise not_found()
    who = "group" if "user-group-permissions" in call.url else "user"
    if row.get(who) is None:
        raise not_found()
    if call.method == "DELETE":
        call.store.delete(table, row["id"])
        return Response(status_code=204)
    if call.method == "GET":
        return JSONResponse(_grant_shown(call, row, listed=False))
    row.update(_grant_fields(call, call.body, keys, partial=call.method == "PATCH"))
    return JSONResponse(_grant_shown(call, row, listed=False))


def _grant_routes() -> list[tuple[str, str, Handler]]:
    out: list[tuple[str, str, Handler]] = []
    for parent in ("/projects/{id}", "/environments/{api_key}"):
        for kind in ("user-permissions", "user-group-permissions"):
            out += [(m, f"{parent}/{kind}/", grants) for m in ("GET", "POST")]
            out += [
                (m, f"{parent}/{kind}/{{perm}}/", grant) for m in ("GET", "PUT", "PATCH", "DELETE")
            ]
    return out


ROUTES: list[tuple[str, str, Handler]] = [
    ("GET", "/projects/", projects),
    ("POST", "/projects/", projects),
    *[(m, "/projects/{id}/", project) for m in ("GET", "PUT", "PATCH", "DELETE")],
    ("GET", "/environments/", environments),
    ("POST", "/environments/", environments),
    *[(m, "/environments/{api_key}/", environment) for m in ("GET", "DELETE")],
    *_grant_routes(),
]
