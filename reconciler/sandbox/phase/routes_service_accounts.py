"""``/v1/service-accounts/`` (docs/phase-api.md#service-accounts;
``api/views/service_accounts.py``).

Every REST-created service account is SSK: the server generates its ed25519 keyring and keeps it
wrapped for the server key (``server_wrapped_keyring``); tokens are minted from it.
"""

from __future__ import annotations

import datetime
import json

from fastapi.responses import Response

from reconciler.crypto import primitives as p
from reconciler.sandbox.phase import keys
from reconciler.sandbox.phase.access import (
    principal_teams,
    role_has_global_access,
    role_has_permission,
)
from reconciler.sandbox.phase.call import Call, View
from reconciler.sandbox.phase.grants import apply_access, validate_access
from reconciler.sandbox.phase.render import sa_detail, sa_json, token_json
from reconciler.sandbox.phase.routes_apps import org_of
from reconciler.sandbox.phase.store import Row, Store, new_id, now, stamps
from reconciler.sandbox.phase.wire import ApiError, instant, no_content, ok, validate_text


def new_service_account(store: Store, name: str, role: Row, team: Row | None) -> Row:
    """``generate_server_managed_sa_keys`` + the row: an SSK service account."""
    pk, sk = p.sign_keypair()
    keyring = json.dumps({"publicKey": pk, "privateKey": sk})
    wrapped = p.encrypt_asymmetric(keyring, store.server_keypair()[0])
    created, updated = stamps()
    sa: Row = {
        "id": new_id(),
        "name": name,
        "role_id": role["id"],
        "team_id": None if team is None else team["id"],
        "identity_key": pk,
        "server_wrapped_keyring": wrapped,
        "server_wrapped_recovery": wrapped,
        "apps": [],
        "created_at": created,
        "updated_at": updated,
        "deleted_at": None,
    }
    store.table("service_accounts")[sa["id"]] = sa
    return sa


def soft_delete_sa(store: Store, sa: Row) -> None:
    """``ServiceAccount.delete()``: tokens soft-deleted, keys wiped, memberships left."""
    sa["deleted_at"] = now()
    for token in store.table("tokens").values():
        if token["kind"] == "service" and token["owner_id"] == sa["id"]:
            token["deleted_at"] = token["deleted_at"] or now()
    for key in store.keys_of("service", sa["id"]):
        store.drop_key(key["id"])


def _caller_team_ids(call: Call) -> set[str]:
    return {t["id"] for t in principal_teams(call.store, call.caller.kind, call.caller.id)}


def _can_see(call: Call, sa: Row) -> bool:
    """``_can_access_service_account``."""
    if sa["team_id"] is None or call.caller_global():
        return True
    team = call.store.table("teams").get(sa["team_id"]) or {}
    if call.caller.is_user and team.get("owner_id") == call.caller.id:
        return True
    return sa["team_id"] in _caller_team_ids(call)


def _can_manage_tokens(call: Call, sa: Row) -> bool:
    """``_caller_can_manage_sa_tokens``."""
    caller = call.caller
    if not caller.is_user:
        if caller.id == sa["id"]:
            return True
        return sa["team_id"] is not None and sa["team_id"] in _caller_team_ids(call)
    if call.caller_global():
        return True
    if sa["team_id"] is None:
        return False
    team = call.store.table("teams").get(sa["team_id"]) or {}
    return team.get("owner_id") == caller.id or sa["team_id"] in _caller_team_ids(call)


def _visible(call: Call) -> list[Row]:
    sas = [s for s in call.store.table("service_accounts").values() if s["deleted_at"] is None]
    if call.caller_global():
        return sas
    team_ids = _caller_team_ids(call)
    teams = call.store.table("teams")
    return [
        s
        for s in sas
        if s["team_id"] is None
        or s["team_id"] in team_ids
        or any(
            {"kind": "service", "id": s["id"]} in teams[t]["members"]
            for t in team_ids
            if t in teams
        )
    ]


def sas_initial(call: Call) -> None:
    action = call.action()
    org_of(call)
    call.require(action, "ServiceAccounts", "service accounts")


def list_sas(call: Call) -> Response:
    sas = sorted(_visible(call), key=lambda s: s["created_at"], reverse=True)
    return ok({"data": [sa_json(call.store, s) for s in sas]})


def _team_for_create(call: Call, team_id: object, role: Row) -> Row:
    """``_resolve_team_for_sa_create``."""
    store, caller = call.store, call.caller
    if store.plan == "FR":
        raise ApiError(403, "Teams are not available on your organisation's plan.")
    team = store.active("teams", team_id)
    if team is None:
        raise ApiError(404, "Team not found.")
    has_global = call.caller_global()
    member = caller.id in {r["id"] for r in team["members"] if r["kind"] == caller.kind}
    if caller.is_user:
        if not (has_global or team["owner_id"] == caller.id or member):
            raise ApiError(403, "You are not a member of this team.")
        effective = store.table("roles").get(team["member_role_id"] or "") or store.role_of(
            caller.row
        )
    else:
        if not (has_global or member):
            raise ApiError(403, "Service account is not a member of this team.")
        effective = store.table("roles").get(team["sa_role_id"] or "") or store.role_of(caller.row)
    if not has_global and not role_has_permission(effective, "create", "ServiceAccounts"):
        raise ApiError(
            403,
            "Your effective role on this team does not grant permission to create service "
            "accounts.",
        )
    if role_has_global_access(role):
        raise ApiError(400, f"Service accounts cannot be assigned the '{role['name']}' role.")
    return team


def _minted(token: Row, full: str) -> Row:
    return token_json(token) | {"token": full, "bearer_token": f"ServiceAccount {token['token']}"}


def create_sa(call: Call) -> Response:
    store = call.store
    name = validate_text(call.get("name"), "name", 64)
    token_name = validate_text(call.get("token_name", "Default"), "token_name", 64) or "Default"
    role_id = call.get("role_id")
    if not role_id:
        raise ApiError(400, "Missing required field: role_id")
    role = store.table("roles").get(str(role_id))
    if role is None:
        raise ApiError(404, "Role not found.")
    team_id = call.get("team_id")
    team = None
    if team_id is not None:
        team = _team_for_create(call, team_id, role)
    elif role_has_global_access(role):
        raise ApiError(400, f"Service accounts cannot be assigned the '{role['name']}' role.")
    assert name is not None
    sa = new_service_account(store, name, role, team)
    if team is not None:
        team["members"].append({"kind": "service", "id": sa["id"]})
        for app_id in {store.table("environments")[e]["app_id"] for e in team["envs"]}:
            app = store.table("apps")[app_id]
            if app["sse_enabled"]:
                keys.provision_team(store, team, app, [("service", sa)])
    full = store.mint_token("service", sa, token_name.strip()[:64], None)
    token = store.token_row(full)
    assert token is not None
    return ok(sa_json(store, sa) | {"initial_token": _minted(token, full)}, 201)


def _sa(call: Call) -> Row:
    sa = call.store.active("service_accounts", call.path["sa_id"])
    if sa is None or not _can_see(call, sa):
        raise ApiError(404, "Service account not found.")
    return sa


def get_sa(call: Call) -> Response:
    return ok(sa_detail(call.store, _sa(call)))


def update_sa(call: Call) -> Response:
    sa = _sa(call)
    raw_name, role_id = call.get("name"), call.get("role_id")
    if raw_name is None and role_id is None:
        raise ApiError(400, "At least one of 'name' or 'role_id' must be provided.")
    changes: Row = {}
    if raw_name is not None:
        changes["name"] = validate_text(raw_name, "name", 64)
    if role_id is not None:
        role = call.store.table("roles").get(str(role_id))
        if role is None:
            raise ApiError(404, "Role not found.")
        if role_has_global_access(role):
            raise ApiError(400, f"Service accounts cannot be assigned the '{role['name']}' role.")
        changes["role_id"] = role["id"]
    sa.update(changes)
    sa["updated_at"] = now()
    return ok(sa_detail(call.store, sa))


def delete_sa(call: Call) -> Response:
    soft_delete_sa(call.store, _sa(call))
    return no_content()


def access_initial(call: Call) -> None:
    org_of(call)
    call.require("update", "ServiceAccounts", "service accounts")


def put_sa_access(call: Call) -> Response:
    sa = _sa(call)
    identity = sa["identity_key"]
    if not isinstance(identity, str) or not identity.strip():
        raise ApiError(
            400,
            "Service account does not have an identity key set. Cannot grant environment access.",
        )
    wanted = validate_access(call, "remove the app from the list.")
    if not sa.get("server_wrapped_keyring"):
        raise ApiError(400, "Service account does not have server-side key management enabled.")
    apply_access(call, "service", sa, wanted)
    return ok(sa_detail(call.store, sa))


def tokens_initial(call: Call) -> None:
    org_of(call)
    call.require("create", "ServiceAccountTokens", "service account tokens")


def _token_sa(call: Call) -> Row:
    sa = call.store.active("service_accounts", call.path["sa_id"])
    if sa is None or not _can_manage_tokens(call, sa):
        raise ApiError(404, "Service account not found.")
    return sa


def _expiry(call: Call) -> tuple[str | None, str | None]:
    """``(stored, echoed)``: the expiry in UTC, and as the create response renders it (an
    ``expires_at`` keeps the caller's offset there; later reads are UTC)."""
    if call.has("expiry"):
        raise ApiError(
            400,
            "Unknown field 'expiry'. Use 'expires_at' (ISO-8601 with timezone) or 'expires_in' "
            "(positive integer seconds).",
        )
    raw_at, raw_in = call.get("expires_at"), call.get("expires_in")
    if raw_at is not None:
        if not isinstance(raw_at, str):
            raise ApiError(
                400,
                "'expires_at' must be an ISO-8601 datetime string with timezone (e.g. "
                "'2026-12-31T23:59:59Z').",
            )
        try:
            parsed = datetime.datetime.fromisoformat(raw_at)
        except ValueError:
            raise ApiError(400, "'expires_at' is not a valid ISO-8601 datetime.") from None
        if parsed.tzinfo is None:
            raise ApiError(
                400, "'expires_at' must include a timezone offset (e.g. 'Z' or '+00:00')."
            )
        if parsed <= datetime.datetime.now(datetime.UTC):
            raise ApiError(400, "'expires_at' must be in the future.")
        return instant(parsed.astimezone(datetime.UTC)), instant(parsed)
    if raw_in is not None:
        if isinstance(raw_in, bool) or not isinstance(raw_in, int) or raw_in <= 0:
            raise ApiError(400, "'expires_in' must be a positive integer (seconds).")
        moment = instant(datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=raw_in))
        return moment, moment
    return None, None


def create_token(call: Call) -> Response:
    store = call.store
    sa = _token_sa(call)
    if not sa.get("server_wrapped_keyring"):
        raise ApiError(
            400,
            "Service account does not have server-side key management enabled. Tokens cannot "
            "be minted via the API.",
        )
    name = validate_text(call.get("name"), "name", 64)
    assert name is not None
    stored, echoed = _expiry(call)
    full = store.mint_token("service", sa, name.strip()[:64], stored)
    token = store.token_row(full)
    assert token is not None
    return ok(_minted(token, full) | {"expires_at": echoed}, 201)


def token_detail_initial(call: Call) -> None:
    org_of(call)
    call.require("delete", "ServiceAccountTokens", "service account tokens")


def delete_token(call: Call) -> Response:
    sa = _token_sa(call)
    token = call.store.table("tokens").get(call.path["token_id"])
    if (
        token is None
        or token["kind"] != "service"
        or token["owner_id"] != sa["id"]
        or token["deleted_at"] is not None
    ):
        raise ApiError(404, "Token not found.")
    token["deleted_at"] = now()
    return no_content()


VIEWS = {
    "v1/service-accounts/": View(sas_initial, {"GET": list_sas, "POST": create_sa}),
    "v1/service-accounts/{sa_id}/": View(
        sas_initial, {"GET": get_sa, "PUT": update_sa, "DELETE": delete_sa}
    ),
    "v1/service-accounts/{sa_id}/access/": View(access_initial, {"PUT": put_sa_access}),
    "v1/service-accounts/{sa_id}/tokens/": View(tokens_initial, {"POST": create_token}),
    "v1/service-accounts/{sa_id}/tokens/{token_id}/": View(
        token_detail_initial, {"DELETE": delete_token}
    ),
}
