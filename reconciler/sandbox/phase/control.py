"""The ``/_sandbox/`` control API: the human steps the real API cannot do, and test hooks.
None of it exists on a real Phase server; it takes no credentials (the sandbox listens on
loopback). Every path keeps its trailing slash.

===================================================  ============================================
``POST /_sandbox/reset/``                            back to the default organisation; returns the
                                                     credentials (``PHASE_URL``, ``PHASE_TOKEN``, …)
``POST /_sandbox/seed/``                             add objects from a fixture (JSON, or YAML with
                                                     ``Content-Type: application/yaml``); see
                                                     ``seed.seed_fixture``
``POST /_sandbox/invites/{invite_id}/accept/``       the invitee accepts: a member with a fresh
``POST /_sandbox/invites/by-email/{email}/accept/``  identity key; returns ``{member_id, email,
                                                     token}`` (token: their ``pss_user:v1`` PAT)
``POST /_sandbox/members/{id or email}/tokens/``     a PAT for a member, as they would create it in
                                                     the console: ``{name?, expires_at?}`` ->
                                                     ``{member_id, email, token}``
``POST /_sandbox/changes/``                          out-of-band changes, as someone would make
                                                     them in the console: ``{"changes": [{"op":
                                                     ...}, ...]}`` (ops below); returns what each
                                                     did
``GET /_sandbox/secrets/{env_id}/``                  an environment's secrets as stored
``GET /_sandbox/principals/``                        members and service accounts with their keys
                                                     (the sandbox plays their devices)
``GET|DELETE /_sandbox/counters/``                   API requests per ``METHOD /route`` and
                                                     ``total`` (DELETE resets)
``GET|POST /_sandbox/order/``                        read or set the order of lists the real server
                                                     answers unordered: ``{shuffle, seed}`` (a
                                                     seed set replays its orders from the start)
                                                     (``order.py``; reset restores the default)
``GET|POST|DELETE /_sandbox/faults/``                read, set (fields of ``Faults``; ``only``
                                                     limits them to matching requests) or
                                                     clear injected faults
===================================================  ============================================

Out-of-band change ops (apps, environments, members named by id, name or email):
``rename_app {app, name}``, ``set_app_description {app, description}``,
``delete_app {app}``, ``rename_environment {app, environment, name}``,
``delete_environment {app, environment}``, ``set_member_role {member, role}``,
``grant_member {member, app, environments: [...]}`` (adds keys the way the console does, E2EE
apps included: wrapped by a key holder's device), ``revoke_member {member, app}``,
``remove_member {member}``, ``replace_identity_key {member}`` (the member's identity key is
swapped for a new one, as a compromised server or database could do: clients that wrap keys
must notice), ``set_plan {plan: FR|PR|EN}``.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from fastapi.responses import JSONResponse, Response
from ruamel.yaml import YAML

from reconciler.crypto import primitives as p
from reconciler.sandbox.phase import keys
from reconciler.sandbox.phase.api import Runtime
from reconciler.sandbox.phase.faults import Faults
from reconciler.sandbox.phase.seed import (
    accept_invite,
    device_open,
    role_named,
    seed_fixture,
)
from reconciler.sandbox.phase.store import Row, Store, now
from reconciler.sandbox.phase.wire import ApiError

Credentials = Callable[[], dict[str, str]]


def _body(raw: bytes, content_type: str | None) -> Any:
    if not raw:
        return {}
    media = (content_type or "").split(";")[0].strip().lower()
    try:
        if "yaml" in media:
            return YAML(typ="safe").load(raw.decode("utf-8"))
        return json.loads(raw)
    except Exception as exc:
        raise ApiError(400, f"sandbox: unreadable body ({type(exc).__name__})") from None


def make_control(
    runtime: Runtime, reset: Callable[[], None], credentials: Credentials
) -> Callable[[str, str, bytes, str | None], Response]:
    """The control dispatcher; ``reset`` reseeds the default organisation."""

    def control(method: str, path: str, raw: bytes, content_type: str | None) -> Response:
        store = runtime.store
        parts = [unquote(x) for x in path.split("/") if x][1:]
        if not path.endswith("/"):
            raise ApiError(404, "sandbox: control paths end with a slash")
        body = _body(raw, content_type)
        with store.lock:
            if parts == ["reset"] and method == "POST":
                reset()
                runtime.counters.clear()
                runtime.windows.clear()
                runtime.faults = Faults()
                store.order.reset()
                return JSONResponse(credentials())
            if parts == ["seed"] and method == "POST":
                created = seed_fixture(store, body)
                store.save()
                return JSONResponse(created)
            post = method == "POST"
            by_email = len(parts) == 4 and parts[:2] == ["invites", "by-email"]
            if post and by_email and parts[3] == "accept":
                return JSONResponse(_accept(store, by_email=parts[2]), 201)
            if post and len(parts) == 3 and parts[0] == "invites" and parts[2] == "accept":
                return JSONResponse(_accept(store, by_id=parts[1]), 201)
            if post and len(parts) == 3 and parts[0] == "members" and parts[2] == "tokens":
                return JSONResponse(_mint_pat(store, parts[1], body), 201)
            if parts == ["changes"] and method == "POST":
                done = [_change(store, c) for c in (body.get("changes") or [])]
                store.save()
                return JSONResponse({"changes": done})
            if len(parts) == 2 and parts[0] == "secrets" and method == "GET":
                return JSONResponse(stored_secrets(store, parts[1]))
            if parts == ["principals"] and method == "GET":
                return JSONResponse(principals(store))
            if parts == ["counters"] and method in ("GET", "DELETE"):
                if method == "DELETE":
                    runtime.counters.clear()
                return JSONResponse(dict(runtime.counters))
            if parts == ["faults"] and method in ("GET", "POST", "DELETE"):
                if method == "DELETE":
                    runtime.faults = Faults()
                if method == "POST":
                    runtime.faults = _faults(body)
                return JSONResponse(dataclasses.asdict(runtime.faults))
            if parts == ["order"] and method in ("GET", "POST"):
                if method == "POST":
                    _order(store, body)
                return JSONResponse(store.order.settings())
        raise ApiError(404, f"sandbox: no control {method} {path}")

    return control


def _order(store: Store, body: Any) -> None:
    if not isinstance(body, dict) or set(body) - {"shuffle", "seed"}:
        raise ApiError(400, "sandbox: order is {shuffle?: bool, seed?: int}")
    if isinstance(body.get("shuffle"), bool):
        store.order.enabled = body["shuffle"]
    if isinstance(body.get("seed"), int):  # the next answers replay that seed's orders
        store.order.seed, store.order.answers = body["seed"], 0


def _faults(body: Any) -> Faults:
    if not isinstance(body, dict):
        raise ApiError(400, "sandbox: faults are an object")
    names = {f.name for f in dataclasses.fields(Faults)} - {"seen"}
    unknown = set(body) - names
    if unknown:
        raise ApiError(400, f"sandbox: unknown fault fields {sorted(unknown)}")
    only = body.get("only", "")
    if not isinstance(only, str):
        raise ApiError(400, "sandbox: 'only' is a text")
    try:
        counts = {k: int(v) for k, v in body.items() if k != "only"}
    except (TypeError, ValueError):
        raise ApiError(400, "sandbox: fault values are integers ('only' a text)") from None
    return Faults(only=only, **counts)


def _accept(store: Store, by_email: str | None = None, by_id: str | None = None) -> dict[str, str]:
    invites = store.table("invites")
    if by_id is not None:
        invite = invites.get(by_id)
    else:
        email = (by_email or "").lower()
        invite = next(
            (i for i in invites.values() if i["email"] == email and i["valid"]),
            None,
        )
    if invite is None:
        raise ApiError(404, "sandbox: no such invite")
    accepted = accept_invite(store, invite)
    store.save()
    return accepted


def _mint_pat(store: Store, ref: str, body: Any) -> dict[str, str]:
    """A personal access token, as the member would create one in the console."""
    member = _find(store, "members", ref, "email")
    if not member.get("signing_key"):
        raise ApiError(400, "sandbox: this member has no identity key yet")
    name = str((body or {}).get("name") or "sandbox")
    token = store.mint_token("user", member, name, (body or {}).get("expires_at"))
    store.save()
    return {"member_id": member["id"], "email": member["email"], "token": token}


def _find(store: Store, table: str, ref: Any, *fields: str) -> Row:
    rows = store.table(table)
    if isinstance(ref, str) and ref in rows and rows[ref].get("deleted_at") is None:
        return rows[ref]
    for row in rows.values():
        if row.get("deleted_at") is None and any(
            str(row.get(f, "")).lower() == str(ref).lower() for f in fields
        ):
            return row
    raise ApiError(404, f"sandbox: no {table[:-1].replace('_', ' ')} {ref!r}")


def _env(store: Store, app: Row, ref: Any) -> Row:
    for env in store.envs_of_app(app["id"]):
        if ref in (env["id"], env["name"]) or str(ref).lower() == env["name"].lower():
            return env
    raise ApiError(404, f"sandbox: no environment {ref!r} in {app['name']}")


def _change(store: Store, change: Any) -> dict[str, Any]:
    if not isinstance(change, dict) or "op" not in change:
        raise ApiError(400, "sandbox: each change is an object with an 'op'")
    op = change["op"]
    if op == "set_plan":
        if change.get("plan") not in ("FR", "PR", "EN"):
            raise ApiError(400, "sandbox: plan is FR, PR or EN")
        store.org["plan"] = change["plan"]
        return {"op": op, "plan": change["plan"]}
    if op in (
        "set_member_role",
        "grant_member",
        "revoke_member",
        "remove_member",
        "replace_identity_key",
    ):
        member = _find(store, "members", change.get("member"), "email")
        return {"op": op, "member": member["id"], **_member_change(store, op, member, change)}
    app = _find(store, "apps", change.get("app"), "name")
    stamp = now()
    if op == "rename_app":
        app["name"], app["updated_at"] = str(change["name"]), stamp
    elif op == "set_app_description":
        app["description"], app["updated_at"] = change.get("description"), stamp
    elif op == "delete_app":
        keys.delete_app(store, app["id"])
    elif op == "rename_environment":
        env = _env(store, app, change.get("environment"))
        env["name"], env["updated_at"] = str(change["name"]), stamp
    elif op == "delete_environment":
        keys.delete_environment(store, _env(store, app, change.get("environment"))["id"])
    else:
        raise ApiError(400, f"sandbox: unknown change op {op!r}")
    return {"op": op, "app": app["id"]}


def _member_change(store: Store, op: str, member: Row, change: dict[str, Any]) -> dict[str, Any]:
    if op == "set_member_role":
        member["role_id"] = role_named(store, str(change.get("role")))["id"]
        member["updated_at"] = now()
        return {"role": change.get("role")}
    if op == "remove_member":
        member["deleted_at"] = now()
        return {}
    if op == "replace_identity_key":
        member["identity_key"], member["signing_key"] = p.sign_keypair()
        member["updated_at"] = now()
        return {"identity_key": member["identity_key"]}
    app = _find(store, "apps", change.get("app"), "name")
    if op == "revoke_member":
        if app["id"] in member["apps"]:
            member["apps"].remove(app["id"])
        keys.revoke_individual(store, "user", member["id"], keys.app_env_ids(store, app["id"]))
        return {"app": app["id"]}
    granted = []
    if app["id"] not in member["apps"]:
        member["apps"].append(app["id"])
    kx_pub = keys.kx_public("user", member)
    if kx_pub is None:
        raise ApiError(400, "sandbox: this member has no identity key yet")
    for ref in change.get("environments") or []:
        env = _env(store, app, ref)
        secrets = keys.env_secrets(store, env) or _held(store, env)
        keys.ensure_key(
            store, env, "user", member["id"], keys.INDIVIDUAL, keys.wrap_pair(*secrets, kx_pub)
        )
        granted.append(env["id"])
    return {"app": app["id"], "environments": granted}


def _held(store: Store, env: Row) -> tuple[str, str]:
    """Seed and salt of an E2EE env, opened by the device of a member holding its key."""
    for key in store.keys_of_env(env["id"]):
        if key["kind"] == "user":
            holder = store.active("members", key["principal_id"])
            if holder is not None and holder.get("signing_key"):
                return device_open(store, holder, env)
    raise ApiError(409, f"sandbox: nobody holds a key for {env['name']}")


def stored_secrets(store: Store, env_id: str) -> list[Row]:
    """An environment's secrets as the database holds them (``ph:v1`` ciphertexts for the
    environment key; key digests keyed by its salt)."""
    if env_id not in store.table("environments"):
        raise ApiError(404, f"sandbox: no environment {env_id!r}")
    rows = [s for s in store.table("secrets").values() if s["environment_id"] == env_id]
    fields = ("id", "key", "value", "comment", "key_digest", "path", "version")
    return [{f: s[f] for f in fields} for s in sorted(rows, key=lambda s: s["created_at"])]


def principals(store: Store) -> dict[str, Any]:
    """Members and service accounts with the key material their devices would hold."""
    members = []
    for m in store.table("members").values():
        entry = {
            k: m.get(k)
            for k in ("id", "email", "role_id", "identity_key", "signing_key", "password")
        } | {"deleted_at": m["deleted_at"], "kx_public": None, "kx_private": None}
        if m.get("signing_key"):
            entry["kx_public"], entry["kx_private"] = store.kx_keypair_of("user", m)
        members.append(entry)
    sas = []
    for s in store.table("service_accounts").values():
        keyring = store.sa_keyring(s)
        sas.append(
            {
                "id": s["id"],
                "name": s["name"],
                "identity_key": keyring["publicKey"],
                "signing_key": keyring["privateKey"],
                "kx_public": p.ed25519_pk_to_kx(keyring["publicKey"]),
                "kx_private": p.ed25519_sk_to_kx(keyring["privateKey"]),
                "deleted_at": s["deleted_at"],
            }
        )
    return {
        "members": members,
        "service_accounts": sas,
        "server_public_key": store.server_keypair()[0],
    }
