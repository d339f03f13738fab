"""The ``/_sandbox/`` control API of the Messages sandbox: what operators do outside the API
(Django admin, CLI, DeployCenter, a user logging in) and test hooks. No credentials (loopback).

=====================================  ==========================================================
``POST /_sandbox/reset/``              empty server with the default channel, superuser and flags;
                                       returns the credentials
``GET /_sandbox/domains/``             every domain as stored, unreadable fields included
``POST /_sandbox/tokens/``             ``{email}`` -> ``{email, token}``: a bearer token of that
                                       user, as their OIDC login would give
``GET /_sandbox/passwords/``           one-time passwords issued, by mailbox (what Keycloak
                                       knows; for leak tests)
``POST /_sandbox/channels/``           a new api_key channel ``{scopes, scope_level?,
                                       expires_at?}`` -> ``{id, api_key}`` (as the CLI would)
``POST /_sandbox/changes/``            out-of-band edits ``{"changes": [{"op": ...}]}`` (below)
``POST /_sandbox/login/``              ``{email}``: that user logs in over OIDC; with the
                                       DeployCenter backend their domain admin rights are synced
``GET|DELETE /_sandbox/counters/``     requests per ``METHOD /route`` and ``total``
``GET|POST|DELETE /_sandbox/faults/``  read, set or clear injected faults (``common.control``)
=====================================  ==========================================================

Change ops: ``set_domain {domain, oidc_autojoin?, identity_sync?, custom_attributes?}``,
``create_domain {domain}``, ``add_admin {domain, email}``, ``remove_admin {domain, email}``,
``rename_mailbox {domain, local_part, name}``, ``delete_mailbox {domain, local_part}``,
``set_mailbox_access {domain, local_part, email, role}`` (role null removes it),
``set_flag {name, value}``, ``refuse_domain {domain}`` (its next provisioning
answers the IntegrityError entry ``Failed to provision domain.``), ``set_entitlements
{backend: local|deploycenter, users?: {email: [domains]}}``, ``set_identity_provider {value}``.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable
from typing import Any

from fastapi.responses import JSONResponse, Response

from reconciler.sandbox.common import control as common_control
from reconciler.sandbox.messages.api import Runtime
from reconciler.sandbox.messages.provisioning import CONFIG_FLAGS
from reconciler.sandbox.messages.store import Row, Store, now
from reconciler.sandbox.messages.wire import ApiError


def new_channel(
    store: Store, scopes: list[str], scope_level: str = "global", **extra: Any
) -> dict[str, str]:
    """An api_key channel; the key is returned once and only its SHA-256 is kept."""
    key = "msg_" + secrets.token_urlsafe(24)
    settings = {"scopes": scopes, **{k: v for k, v in extra.items() if v is not None}}
    row = store.insert(
        "channels",
        {
            "type": "api_key",
            "name": "reconciler",
            "scope_level": scope_level,
            "settings": settings,
            "api_key_hashes": [hashlib.sha256(key.encode()).hexdigest()],
        },
    )
    return {"id": row["id"], "api_key": key}


def make_control(
    runtime: Runtime, reset: Callable[[], None], credentials: Callable[[], dict[str, str]]
) -> Callable[[str, str, bytes], Response]:
    def control(method: str, path: str, raw: bytes) -> Response:
        store = runtime.store
        parts = [p for p in path.split("/") if p][1:]
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            raise ApiError(400, "sandbox: the body is not JSON") from None
        with store.lock:
            if parts == ["reset"] and method == "POST":
                reset()
                common_control.reset(runtime)
                return JSONResponse(credentials())
            if parts == ["domains"] and method == "GET":
                return JSONResponse(
                    sorted(store.table("domains").values(), key=lambda d: d["name"])
                )
            if parts == ["channels"] and method == "POST":
                made = new_channel(
                    store,
                    list(body.get("scopes") or []),
                    str(body.get("scope_level") or "global"),
                    expires_at=body.get("expires_at"),
                )
                store.save()
                return JSONResponse(made, 201)
            if parts == ["changes"] and method == "POST":
                done = [_change(store, c) for c in body.get("changes") or []]
                store.save()
                return JSONResponse({"changes": done})
            if parts == ["tokens"] and method == "POST":
                user = store.user_for(str(body.get("email") or ""))
                token = secrets.token_urlsafe(24)
                store.table("tokens")[token] = {"user_id": user["id"]}
                store.save()
                return JSONResponse({"email": user["email"], "token": token}, 201)
            if parts == ["passwords"] and method == "GET":
                return JSONResponse(store.data.get("passwords", {}))
            if parts == ["login"] and method == "POST":
                synced = store.login_sync(str(body.get("email") or ""))
                store.save()
                return JSONResponse(synced)
            try:
                shared = common_control.route(runtime, method, parts, body)
            except (TypeError, ValueError):  # only a fault count int() refuses raises these
                raise ApiError(400, "sandbox: fault values are integers ('only' a text)") from None
            if shared is not None:
                return JSONResponse(shared)
        raise ApiError(404, f"sandbox: no control {method} {path}")

    return control


def _domain(store: Store, name: Any) -> Row:
    row = store.domain_named(str(name))
    if row is None:
        raise ApiError(404, f"sandbox: no domain {name!r}")
    return row


def _mailbox(store: Store, change: dict[str, Any]) -> Row:
    domain = _domain(store, change.get("domain"))
    for box in store.mailboxes_of(domain["id"]):
        if box["local_part"] == change.get("local_part"):
            return box
    raise ApiError(404, f"sandbox: no mailbox {change.get('local_part')!r}")


def _change(store: Store, change: Any) -> dict[str, Any]:
    """One out-of-band edit (see the module docstring)."""
    if not isinstance(change, dict) or "op" not in change:
        raise ApiError(400, "sandbox: each change is an object with an 'op'")
    op = change["op"]
    if op == "create_domain":
        name = str(change["domain"])
        store.insert(
            "domains",
            {"name": name, "alias_of": None, "oidc_autojoin": False, "identity_sync": False}
            | {"custom_attributes": {}},
        )
    elif op == "set_domain":
        row = _domain(store, change.get("domain"))
        for key in ("oidc_autojoin", "identity_sync", "custom_attributes"):
            if key in change:
                row[key] = change[key]
        row["updated_at"] = now()
    elif op in ("add_admin", "remove_admin"):
        domain = _domain(store, change.get("domain"))
        user = store.user_for(str(change.get("email")))
        held = [a for a in store.domain_admins(domain["id"]) if a["user_id"] == user["id"]]
        if op == "add_admin" and not held:
            store.insert("domain_accesses", {"domain_id": domain["id"], "user_id": user["id"]})
        for access in held if op == "remove_admin" else []:
            del store.table("domain_accesses")[access["id"]]
    elif op == "rename_mailbox":
        _mailbox(store, change)["contact_name"] = change.get("name")
    elif op == "delete_mailbox":
        store.delete_mailbox(_mailbox(store, change)["id"])
    elif op == "set_mailbox_access":
        box = _mailbox(store, change)
        user = store.user_for(str(change.get("email")))
        held = [a for a in store.mailbox_accesses(box["id"]) if a["user_id"] == user["id"]]
        for access in held:
            del store.table("mailbox_accesses")[access["id"]]
        if change.get("role"):
            store.insert(
                "mailbox_accesses",
                {"mailbox_id": box["id"], "user_id": user["id"], "role": change["role"]},
            )
    elif op == "set_flag":
        if change.get("name") not in CONFIG_FLAGS:
            raise ApiError(400, f"sandbox: flags are {', '.join(CONFIG_FLAGS)}")
        store.settings[change["name"]] = bool(change.get("value"))
    elif op == "set_entitlements":
        if change.get("backend") not in ("local", "deploycenter"):
            raise ApiError(400, "sandbox: backend is local or deploycenter")
        store.settings["entitlements"] = change["backend"]
        users = change.get("users") or {}
        store.settings["deploycenter"] |= {str(k).lower(): list(v) for k, v in users.items()}
    elif op == "refuse_domain":  # its next provisioning fails as an IntegrityError does
        store.settings.setdefault("refuse", {})[str(change.get("domain"))] = True
    elif op == "set_identity_provider":
        store.settings["IDENTITY_PROVIDER"] = change.get("value")
    else:
        raise ApiError(400, f"sandbox: unknown change op {op!r}")
    return {"op": op}
