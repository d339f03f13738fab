"""``/v1/secrets/`` for SSE apps (docs/phase-api.md#secrets; ``PublicSecretsView``) and
``/secrets/tokens/`` (docs/phase-api.md#token-key-material; ``api/views/auth.py:secrets_tokens``).

Secrets are stored as the server stores them: key, value and comment are ``ph:v1`` ciphertexts
for the environment's public key, the key digest is BLAKE2b of the upper-cased key keyed by the
environment salt; the server unwraps the seed and salt from its ``ServerEnvironmentKey``.
"""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse, Response

from reconciler.crypto import primitives as p
from reconciler.sandbox.phase import keys
from reconciler.sandbox.phase.call import METHOD_TO_ACTION, Call, View
from reconciler.sandbox.phase.render import env_json
from reconciler.sandbox.phase.store import Row, Store, new_id, now
from reconciler.sandbox.phase.wire import ApiError, ok, query

SECRET_TYPES = ("secret", "sealed", "config")


def secrets_initial(call: Call) -> None:
    action = METHOD_TO_ACTION.get(call.method)
    if action is None:
        raise ApiError(403, f"Unsupported HTTP method: {call.method}")
    env = call.auth.env
    if env is None:
        raise ApiError(
            403, "Environment context required. Supply `app_id` and `env` as query parameters."
        )
    app = call.store.table("apps")[env["app_id"]]
    if not call.allowed(action, "Secrets", True, app):
        raise ApiError(403, f"You don't have permission to {action} secrets in this environment.")


def _sse_env(call: Call) -> tuple[Row, tuple[str, str], tuple[str, str]]:
    """The env, its key pair and (seed, salt); 400 for E2EE apps."""
    env = call.auth.env
    assert env is not None
    secrets = keys.env_secrets(call.store, env)
    if secrets is None or not call.store.table("apps")[env["app_id"]]["sse_enabled"]:
        raise ApiError(400, "SSE is not enabled for this App")
    return env, p.kx_seed_keypair(secrets[0]), secrets


def _path(value: Any) -> str:
    return "/" + str(value or "/").strip().strip("/")


def secret_json(secret: Row, env: Row, pair: tuple[str, str]) -> Row:
    pub, priv = pair

    def opened(text: str) -> str:
        return p.decrypt_asymmetric(text, priv, pub) if text else ""

    return {
        "id": secret["id"],
        "key": opened(secret["key"]),
        "value": opened(secret["value"]),
        "comment": opened(secret["comment"]),
        "tags": list(secret["tags"]),
        "override": None,
        "type": secret["type"],
        "lifecycle": "static",
        "path": secret["path"],
        "key_digest": secret["key_digest"],
        "version": secret["version"],
        "created_at": secret["created_at"],
        "updated_at": secret["updated_at"],
        "environment": env["id"],
        "folder": None,
    }


def _in_env(store: Store, env: Row) -> list[Row]:
    rows = [s for s in store.table("secrets").values() if s["environment_id"] == env["id"]]
    return sorted(rows, key=lambda s: s["created_at"])


def list_secrets(call: Call) -> Response:
    env, pair, (_seed, salt) = _sse_env(call)
    rows = _in_env(call.store, env)
    key = query(call.params, "key")
    if key:
        digest = p.blake2b_digest(key.upper(), salt)
        rows = [s for s in rows if s["key_digest"] == digest]
    path = query(call.params, "path")
    if path:
        rows = [s for s in rows if s["path"] == _path(path)]
    return ok([secret_json(s, env, pair) for s in rows])


def _items(call: Call) -> list[Row]:
    items = call.get("secrets")
    if not isinstance(items, list) or not items:
        raise ApiError(400, "'secrets' must be a non-empty list.")
    return items


def _check_type(item: Row) -> None:
    kind = item.get("type")
    if kind is not None and kind not in SECRET_TYPES:
        raise ApiError(400, f"Invalid 'type': {kind!r}. Must be one of {sorted(SECRET_TYPES)}.")


def create_secrets(call: Call) -> Response:
    env, pair, (_seed, salt) = _sse_env(call)
    items = _items(call)
    for item in items:
        if not isinstance(item, dict):
            raise ApiError(400, "Each entry in 'secrets' must be an object.")
        if not isinstance(item.get("key"), str) or not item["key"].strip():
            raise ApiError(400, "Each secret requires a non-empty 'key'.")
        if not isinstance(item.get("value"), str):
            raise ApiError(400, "Each secret requires a 'value' string.")
        _check_type(item)
    existing = {(s["key_digest"], s["path"]) for s in _in_env(call.store, env)}
    wanted = [(p.blake2b_digest(i["key"].upper(), salt), _path(i.get("path"))) for i in items]
    if len(set(wanted)) != len(wanted) or existing & set(wanted):
        raise ApiError(409, "Duplicate secret found")
    out = []
    for item, (digest, path) in zip(items, wanted, strict=True):
        stamp = now()
        secret: Row = {
            "id": new_id(),
            "environment_id": env["id"],
            "key": p.encrypt_asymmetric(item["key"].upper(), pair[0]),
            "value": p.encrypt_asymmetric(item["value"], pair[0]),
            "comment": p.encrypt_asymmetric(item["comment"], pair[0])
            if item.get("comment")
            else "",
            "tags": [str(t) for t in item.get("tags") or []],
            "type": item.get("type") or "secret",
            "path": path,
            "key_digest": digest,
            "version": 1,
            "created_at": stamp,
            "updated_at": stamp,
        }
        call.store.table("secrets")[secret["id"]] = secret
        out.append(secret_json(secret, env, pair))
    env["updated_at"] = now()
    return ok(out)


def update_secrets(call: Call) -> Response:
    env, pair, (_seed, salt) = _sse_env(call)
    items = _items(call)
    table = call.store.table("secrets")
    for item in items:
        if not isinstance(item, dict) or not item.get("id"):
            raise ApiError(400, "Secret ID not provided")
        _check_type(item)
    out = []
    for item in items:
        secret = table.get(str(item["id"]))
        if secret is None or secret["environment_id"] != env["id"]:
            raise ApiError(404, f"Secret not found: {item['id']}")
        if isinstance(item.get("key"), str) and item["key"].strip():
            digest = p.blake2b_digest(item["key"].upper(), salt)
            path = _path(item.get("path", secret["path"]))
            clash = any(
                s["key_digest"] == digest and s["path"] == path and s["id"] != secret["id"]
                for s in _in_env(call.store, env)
            )
            if clash:
                raise ApiError(409, "Duplicate secret found")
            secret |= {
                "key": p.encrypt_asymmetric(item["key"].upper(), pair[0]),
                "key_digest": digest,
                "path": path,
            }
        if isinstance(item.get("value"), str):
            secret["value"] = p.encrypt_asymmetric(item["value"], pair[0])
        if "comment" in item:
            comment = item.get("comment") or ""
            secret["comment"] = p.encrypt_asymmetric(comment, pair[0]) if comment else ""
        if "tags" in item:
            secret["tags"] = [str(t) for t in item.get("tags") or []]
        secret["version"] += 1
        secret["updated_at"] = now()
        out.append(secret_json(secret, env, pair))
    return ok(out)


def delete_secrets(call: Call) -> Response:
    env, _pair, _secrets = _sse_env(call)
    ids = call.get("secrets")
    if not isinstance(ids, list) or not ids:
        raise ApiError(400, "'secrets' must be a non-empty list of secret IDs.")
    table = call.store.table("secrets")
    found = {
        str(i) for i in ids if str(i) in table and table[str(i)]["environment_id"] == env["id"]
    }
    missing = [str(i) for i in ids if str(i) not in found]
    if missing:
        raise ApiError(404, f"Secret(s) not found in this environment: {', '.join(missing)}")
    for secret_id in found:
        table.pop(secret_id)
    count = len(found)
    return ok({"message": f"Deleted {count} secret{'' if count == 1 else 's'}"})


def secrets_tokens(store: Store, token: Row) -> Response:
    """``GET /secrets/tokens/``: the wrapped key share and every key of the token's principal,
    grouped by app, rendered snake_case (this view has no camelCase renderer)."""
    kind, owner_id = token["kind"], token["owner_id"]
    envs, apps_table = store.table("environments"), store.table("apps")
    apps: list[Row] = []
    for key in store.keys_of(kind, owner_id):
        env = envs.get(key["environment_id"])
        if env is None:
            continue
        app = apps_table[env["app_id"]]
        entry = next((a for a in apps if a["id"] == app["id"]), None)
        if entry is None:
            entry = {
                "id": app["id"],
                "name": app["name"],
                "encryption": "SSE" if app["sse_enabled"] else "E2E",
                "environment_keys": [],
            }
            apps.append(entry)
        entry["environment_keys"].append(
            {
                "id": key["id"],
                "environment": env_json(env),
                "paths": None,
                "identity_key": key["identity_key"],
                "wrapped_seed": key["wrapped_seed"],
                "wrapped_salt": key["wrapped_salt"],
                "created_at": key["created_at"],
                "updated_at": key["updated_at"],
                "deleted_at": None,
                "user": owner_id if kind == "user" else None,
                "service_account": owner_id if kind == "service" else None,
            }
        )
    return JSONResponse(
        {
            "wrapped_key_share": token["wrapped_key_share"],
            "user_id" if kind == "user" else "account_id": owner_id,
            "offline_enabled": False,
            "organisation": {"id": store.org["id"], "name": store.org["name"]},
            "apps": apps,
        }
    )


VIEWS = {
    "v1/secrets/": View(
        secrets_initial,
        {
            "GET": list_secrets,
            "POST": create_secrets,
            "PUT": update_secrets,
            "DELETE": delete_secrets,
        },
    ),
}
