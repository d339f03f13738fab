"""The ``/_sandbox/`` control API of the Connect sandbox: what happens outside the API (a
field worker accepting an invite in the app, edits in the Connect web UI, HQ and ConnectID) and
test hooks. No credentials (loopback only).

=====================================  ==========================================================
``POST /_sandbox/reset/``              the seeded organisations, users, tokens, fake HQ and
                                       ConnectID; returns the credentials
``GET /_sandbox/state/``               every table as stored (key and token hashes only)
``POST /_sandbox/invites/accept/``     ``{phone, opportunity?}``: the worker accepts the invite
``POST /_sandbox/connectid/``          ``{phones: [...]}``: numbers that now have an account
``POST /_sandbox/hq/``                 ``{down?, keys?, apps?}``: HQ outage, accepted keys, apps
                                       (``{domain: {app_id: {name, modules|deliver_units}}}``)
``POST /_sandbox/tokens/``             ``{user, scopes, expires_in}``: mint an OAuth token
``POST /_sandbox/members/``            ``{organization, email, role}``: a user joins; a token
``POST /_sandbox/changes/``            out-of-band edits ``{"changes": [{"op": ...}]}`` (below)
``GET|DELETE /_sandbox/counters/``     requests per ``METHOD /route`` and ``total``
``GET|POST|DELETE /_sandbox/faults/``  read, set or clear injected faults (``common.control``)
=====================================  ==========================================================

Change ops (the web UI can edit what the API cannot): ``set_opportunity {name, fields}``,
``set_program {name, fields}``, ``set_application {program, organization, status}``.
"""

from __future__ import annotations

import datetime
import json
import secrets
from collections.abc import Callable
from typing import Any

from fastapi.responses import JSONResponse, Response

from reconciler.sandbox.common import control as common_control
from reconciler.sandbox.connect.app import Runtime, token_digest
from reconciler.sandbox.connect.hq import digest
from reconciler.sandbox.connect.store import Row, Store
from reconciler.sandbox.connect.wire import ApiError


def mint(store: Store, user_id: int, scopes: list[str], seconds: int) -> str:
    """An access token as django-oauth-toolkit stores it (here: its SHA-256)."""
    token = secrets.token_urlsafe(24)
    expires = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=seconds)
    store.insert(
        "tokens",
        {"hash": token_digest(token), "user": user_id, "scopes": scopes}
        | {"expires": expires.isoformat()},
    )
    return token


def make_control(
    runtime: Runtime, reset: Callable[[], None], credentials: Callable[[], dict[str, str]]
) -> Callable[[str, str, bytes], Response]:
    def control(method: str, path: str, raw: bytes) -> Response:
        store = runtime.store
        parts = [p for p in path.split("/") if p][1:]
        body = json.loads(raw) if raw else {}
        with store.lock:
            answer = _dispatch(runtime, parts, method, body, reset, credentials)
            store.save()
            return JSONResponse(answer)

    return control


def _dispatch(
    runtime: Runtime,
    parts: list[str],
    method: str,
    body: Any,
    reset: Callable[[], None],
    credentials: Callable[[], dict[str, str]],
) -> Any:
    store = runtime.store
    route = (method, "/".join(parts))
    if route == ("POST", "reset"):
        reset()
        common_control.reset(runtime)
        return credentials()
    if route == ("GET", "state"):
        shown = {k: v for k, v in store.settings.items() if k != "own"}  # credentials
        return {**store.data, "settings": shown}
    if route == ("POST", "invites/accept"):
        return _accept(store, str(body["phone"]), body.get("opportunity"))
    if route == ("POST", "connectid"):
        known = set(store.settings["connectid"]) | {str(p) for p in body["phones"]}
        store.settings["connectid"] = sorted(known)
        return {"phones": store.settings["connectid"]}
    if route == ("POST", "hq"):
        fake = store.settings["hq"]
        fake["down"] = bool(body.get("down", fake.get("down", False)))
        if "keys" in body:
            fake["keys"] = sorted(fake["keys"] + [digest(str(k)) for k in body["keys"]])
        for domain, apps in (body.get("apps") or {}).items():
            fake["apps"].setdefault(str(domain), {}).update(apps)
        return {"down": fake["down"]}
    if route == ("POST", "tokens"):
        user = next(u for u in store.rows("users") if u["email"] == body["user"])
        scopes = [str(s) for s in body.get("scopes", ["read", "write", "export"])]
        return {"token": mint(store, user["id"], scopes, int(body.get("expires_in", 1209600)))}
    if route == ("POST", "members"):
        return _member(store, str(body["organization"]), str(body["email"]), body.get("role"))
    if route == ("POST", "changes"):
        return {"changes": [_change(store, c) for c in body.get("changes") or []]}
    shared = common_control.route(runtime, method, parts, body)
    if shared is not None:
        return shared
    raise ApiError(404, f"sandbox: no control {method} /_sandbox/{'/'.join(parts)}/")


def _member(store: Store, org: str, email: str, role: Any) -> dict[str, Any]:
    """A user (made when unknown) joins ``org`` with ``role`` (admin or member); returns a
    fresh token of theirs with scopes read, write and export."""
    if store.org(org) is None:
        raise ApiError(404, f"sandbox: no organisation {org!r}")
    user = next((u for u in store.rows("users") if u["email"] == email), None)
    if user is None:
        user = store.insert(
            "users", {"username": email.split("@")[0], "name": email, "phone": "", "email": email}
        )
    if not store.rows("memberships", organization=org, user=user["id"]):
        store.insert(
            "memberships", {"organization": org, "user": user["id"], "role": role or "member"}
        )
    return {"token": mint(store, user["id"], ["read", "write", "export"], 1209600)}


def _accept(store: Store, phone: str, opportunity: Any) -> dict[str, Any]:
    found = [
        i
        for i in store.rows("invites", phone=phone)
        if opportunity is None or i["opportunity"] == int(opportunity)
    ]
    pending = [i for i in found if i["status"] == "invited"]
    if not pending:
        raise ApiError(404, f"sandbox: no pending invite for {phone}")
    for invite in pending:
        invite["status"] = "accepted"
    return {"accepted": [i["opportunity"] for i in pending]}


def _named(store: Store, table: str, name: Any) -> Row:
    found = [r for r in store.rows(table) if r["name"] == name]
    if not found:
        raise ApiError(404, f"sandbox: no {table[:-1]} named {name!r}")
    return found[-1]


def _change(store: Store, change: dict[str, Any]) -> dict[str, Any]:
    op = change["op"]
    if op == "set_opportunity":
        row = _named(store, "opportunities", change["name"])
        row.update(change["fields"])
    elif op == "set_program":
        row = _named(store, "programs", change["name"])
        row.update(change["fields"])
    elif op == "set_application":
        program = _named(store, "programs", change["program"])
        app = store.rows("applications", program=program["id"], organization=change["organization"])
        if not app:
            raise ApiError(404, "sandbox: no such application")
        row = app[0]
        row["status"] = change["status"]
    else:
        raise ApiError(400, f"sandbox: unknown change op {op!r}")
    return {"op": op, "id": row["id"]}
