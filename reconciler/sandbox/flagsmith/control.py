"""The ``/_sandbox/`` control API of the Flagsmith sandbox: what people do outside the API (the
dashboard, an invitee accepting, Django admin) and test hooks. No credentials (loopback).

=====================================  ==========================================================
``POST /_sandbox/reset/``              the seeded organisation (``Acme``, owner, keys); returns
                                       the credentials
``GET /_sandbox/state/``               every table as stored (secrets included: for tests)
``POST /_sandbox/invites/accept/``     ``{email}``: the invitee signs up and joins with the
                                       invite's role and groups
``POST /_sandbox/changes/``            out-of-band edits ``{"changes": [{"op": ...}]}`` (below)
``POST /_sandbox/settings/``           ``{"bug_placeholder": bool}``
``POST /_sandbox/ado/``                ``{organisation_url, pats?: [...], down?: bool}`` (fake ADO)
``GET|DELETE /_sandbox/counters/``     requests per ``METHOD /route`` and ``total``
``GET|POST|DELETE /_sandbox/faults/``  read, set or clear injected faults (``common.control``)
=====================================  ==========================================================

Change ops: ``add_user {email, role}``, ``set_role {email, role}``, ``create_project {name}``,
``delete_project {project}``, ``delete_environment {project, name}``, ``set_integration
{project, kind, fields}``, ``delete_integration {project, kind}``, ``set_grant {project,
environment?, user?|group?, admin?, permissions?}``, ``create_group {name}``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

from fastapi.responses import JSONResponse, Response

from reconciler.sandbox.common import control as common_control
from reconciler.sandbox.flagsmith.ado import FakeAdo
from reconciler.sandbox.flagsmith.api import Runtime
from reconciler.sandbox.flagsmith.store import Row, Store, now
from reconciler.sandbox.flagsmith.wire import ApiError


def add_user(store: Store, org_id: int, email: str, role: str) -> Row:
    """A user (made when unknown) joined to the organisation with ``role``."""
    user = store.user_by_email(email)
    if user is None:
        first = email.split("@")[0].capitalize()
        user = store.insert(
            "users",
            {"email": email.strip().lower(), "first_name": first, "last_name": ""}
            | {"last_login": None, "uuid": str(uuid.uuid4())},
        )
    member = store.membership(org_id, user["id"])
    if member is None:
        store.insert(
            "memberships",
            {"organisation": org_id, "user": user["id"], "role": role, "date_joined": now()},
        )
    else:
        member["role"] = role
    return user


def make_control(
    runtime: Runtime,
    ado: FakeAdo,
    reset: Callable[[], None],
    credentials: Callable[[], dict[str, str]],
) -> Callable[[str, str, bytes], Response]:
    def control(method: str, path: str, raw: bytes) -> Response:
        store = runtime.store
        parts = [p for p in path.split("/") if p][1:]
        body = json.loads(raw) if raw else {}
        with store.lock:
            if parts == ["reset"] and method == "POST":
                reset()
                ado.reset()
                common_control.reset(runtime)
                return JSONResponse(credentials())
            if parts == ["state"] and method == "GET":
                return JSONResponse({k: v for k, v in store.data.items() if k != "keys"})
            if parts == ["invites", "accept"] and method == "POST":
                return JSONResponse(_accept(store, str(body["email"])))
            if parts == ["changes"] and method == "POST":
                done = [_change(store, c) for c in body.get("changes") or []]
                store.save()
                return JSONResponse({"changes": done})
            if parts == ["settings"] and method == "POST":
                store.settings["bug_placeholder"] = bool(body.get("bug_placeholder"))
                store.save()
                return JSONResponse({"bug_placeholder": store.settings["bug_placeholder"]})
            if parts == ["ado"] and method == "POST":
                ado.configure(
                    str(body["organisation_url"]), body.get("pats"), bool(body.get("down"))
                )
                return JSONResponse({"probes": ado.probes})
            if parts == ["ado"] and method == "GET":
                return JSONResponse({"probes": ado.probes})
            shared = common_control.route(runtime, method, parts, body)
            if shared is not None:
                return JSONResponse(shared)
        raise ApiError(404, f"sandbox: no control {method} {path}")

    return control


def _accept(store: Store, email: str) -> dict[str, Any]:
    found = [i for i in store.table("invites").values() if i["email"] == email.strip().lower()]
    if not found:
        raise ApiError(404, f"sandbox: no invite for {email}")
    invite = found[0]
    user = add_user(store, invite["organisation"], email, invite["role"])
    for gid in invite["permission_groups"]:
        group = store.get("groups", gid)
        if group is not None and user["id"] not in group["users"]:
            group["users"].append(user["id"])
    store.delete("invites", invite["id"])
    store.save()
    return {"email": user["email"], "id": user["id"], "role": invite["role"]}


def _project(store: Store, name: Any) -> Row:
    found = [p for p in store.table("projects").values() if p["name"] == name]
    if not found:
        raise ApiError(404, f"sandbox: no project {name!r}")
    return found[0]


def _org(store: Store) -> int:
    return int(min(int(i) for i in store.table("organisations")))


def _change(store: Store, change: dict[str, Any]) -> dict[str, Any]:
    """One out-of-band edit (see the module docstring)."""
    op = change["op"]
    if op in ("add_user", "set_role"):
        add_user(store, _org(store), str(change["email"]), str(change.get("role", "USER")))
    elif op == "create_project":
        store.insert(
            "projects",
            {"name": change["name"], "organisation": _org(store), "uuid": str(uuid.uuid4())}
            | {"hide_disabled_flags": False},
        )
    elif op == "create_group":
        store.insert(
            "groups",
            {"organisation": _org(store), "name": change["name"], "users": [], "admins": []}
            | {"is_default": False, "external_id": None},
        )
    elif op == "delete_project":
        store.delete_project(_project(store, change["project"])["id"])
    elif op == "delete_environment":
        project = _project(store, change["project"])
        for env in store.rows("environments", project=project["id"], name=change["name"]):
            store.delete_environment(env["id"])
    elif op in ("set_integration", "delete_integration"):
        project = _project(store, change["project"])
        rows = [
            r
            for r in store.rows("integrations", project=project["id"], kind=change["kind"])
            if r.get("deleted_at") is None
        ]
        if not rows:
            raise ApiError(404, "sandbox: no such integration")
        if op == "set_integration":
            rows[0].update(change.get("fields") or {})
        else:
            rows[0]["deleted_at"] = now()
    elif op == "set_grant":
        _set_grant(store, change)
    else:
        raise ApiError(400, f"sandbox: unknown change op {op!r}")
    return {"op": op}


def _set_grant(store: Store, change: dict[str, Any]) -> None:
    project = _project(store, change["project"])
    table, parent_field, parent_id = "project_permissions", "project", project["id"]
    if change.get("environment"):
        envs = store.rows("environments", project=project["id"], name=change["environment"])
        table, parent_field, parent_id = "environment_permissions", "environment", envs[0]["id"]
    if change.get("user"):
        user = store.user_by_email(str(change["user"]))
        who, ref = "user", user["id"] if user else None
    else:
        group = [g for g in store.table("groups").values() if g["name"] == change.get("group")]
        who, ref = "group", group[0]["id"] if group else None
    if ref is None:
        raise ApiError(404, "sandbox: no such user or group")
    rows = store.rows(table, **{parent_field: parent_id, who: ref})
    fields = {
        "admin": bool(change.get("admin", False)),
        "permissions": list(change.get("permissions") or []),
    }
    if rows:
        rows[0].update(fields)
    else:
        other = "group" if who == "user" else "user"
        store.insert(table, {parent_field: parent_id, who: ref, other: None, **fields})
