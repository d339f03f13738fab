"""The sandbox's organisation state and the server-side rules that change it.

State lives in plain dicts (JSON-serialisable) guarded by one lock; ``Store.save`` writes it to
SQLite (one row) after every change when the sandbox has a data directory, so a restart with
the same directory keeps the organisation. Keys are real: members and service accounts have
ed25519 identity keys, environments have seeds and salts, and every grant wraps the seed and
salt for the grantee (``ph:v1``), exactly as the Phase server does. The sandbox also plays the
users' devices, so it keeps members' private keys (the ``/_sandbox/principals/`` view exposes
them to tests).
"""

from __future__ import annotations

import datetime
import json
import sqlite3
import threading
import uuid
from pathlib import Path
from typing import Any

from reconciler.crypto import primitives as p

Row = dict[str, Any]


def now() -> str:
    """An instant rendered as DRF does: ISO 8601, microseconds, ``Z``."""
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def new_id() -> str:
    return str(uuid.uuid4())


class Store:
    """One organisation. Every method that writes is called with ``lock`` held by the API."""

    def __init__(self, path: Path | None = None) -> None:
        self.lock = threading.RLock()
        self.path = path
        self.data: dict[str, Any] = {}
        # (env id, kind, principal id) -> key id; rebuilt whenever the key table changed size
        # behind its back (bulk deletes), so lookups stay O(1) at thousands of environments.
        self._key_index: dict[tuple[str, str, str], str] = {}
        if path is not None and path.exists():
            with sqlite3.connect(path) as db:
                row = db.execute("SELECT body FROM snapshot WHERE id = 1").fetchone()
            if row is not None:
                self.data = json.loads(row[0])
        self._key_index = {}

    @property
    def empty(self) -> bool:
        return not self.data

    def save(self) -> None:
        if self.path is None:
            return
        with sqlite3.connect(self.path) as db:
            db.execute("CREATE TABLE IF NOT EXISTS snapshot (id INTEGER PRIMARY KEY, body TEXT)")
            db.execute(
                "INSERT OR REPLACE INTO snapshot (id, body) VALUES (1, ?)", (json.dumps(self.data),)
            )

    # -- collections ----------------------------------------------------------------------

    def table(self, name: str) -> dict[str, Row]:
        table: dict[str, Row] = self.data.setdefault(name, {})
        return table

    @property
    def org(self) -> Row:
        org: Row = self.data["org"]
        return org

    @property
    def server_public(self) -> str:
        return str(self.org["server_public"])

    def reset(self) -> None:
        self._key_index = {}
        server_pk, server_sk = p.kx_keypair()
        self.data = {
            "org": {
                "id": new_id(),
                "name": "sandbox-org",
                "plan": "PR",
                "server_public": server_pk,
                "server_private": server_sk,
            }
        }

    # -- principals and tokens ------------------------------------------------------------

    def add_member(self, email: str, role_id: str, full_name: str | None = None) -> Row:
        pk, sk = p.sign_keypair()
        member: Row = {
            "id": new_id(),
            "email": email.lower(),
            "full_name": full_name,
            "role_id": role_id,
            "identity_key": pk,
            "signing_key": sk,
            "password": p.random_hex(12),
            "apps": [],
            "created_at": now(),
            "updated_at": now(),
            "deleted_at": None,
        }
        self.table("members")[member["id"]] = member
        return member

    def mint_token(self, kind: str, owner_id: str, name: str, expires_at: str | None) -> str:
        """A real token for a member (``pss_user:v1``) or an SA (``pss_service:v2``); the
        server keeps share B wrapped with the token's wrap key (contracts/phase.md §2.4)."""
        owner = self.table("members" if kind == "user" else "service_accounts")[owner_id]
        kx_pub = p.ed25519_pk_to_kx(owner["identity_key"])
        kx_priv = p.ed25519_sk_to_kx(owner["signing_key"])
        share_a, share_b = p.split_secret_hex(kx_priv)
        wrap_key = p.random_hex()
        bearer = p.random_hex()
        token: Row = {
            "id": new_id(),
            "kind": kind,
            "owner_id": owner_id,
            "name": name,
            "token": bearer,
            "identity_key": kx_pub,
            "wrapped_key_share": p.wrap_share_hex(share_b, wrap_key),
            "created_at": now(),
            "expires_at": expires_at,
            "deleted_at": None,
        }
        self.table("tokens")[token["id"]] = token
        prefix = "pss_user:v1" if kind == "user" else "pss_service:v2"
        return f"{prefix}:{bearer}:{kx_pub}:{share_a}:{wrap_key}"

    # -- environments and keys ------------------------------------------------------------

    def add_environment(self, app: Row, name: str, env_type: str, index: int) -> Row:
        seed, salt = p.random_hex(), p.random_hex()
        public, _ = p.kx_seed_keypair(seed)
        env: Row = {
            "id": new_id(),
            "app_id": app["id"],
            "name": name,
            "env_type": env_type,
            "index": index,
            "identity_key": public,
            "seed": seed,
            "salt": salt,
            "server_key": app["sse_enabled"],
            "created_at": now(),
            "updated_at": now(),
        }
        self.table("environments")[env["id"]] = env
        return env

    def identity_of(self, kind: str, principal_id: str) -> str | None:
        table = self.table("members" if kind == "user" else "service_accounts")
        row = table.get(principal_id)
        return None if row is None else row.get("identity_key")

    def grant_key(self, env: Row, kind: str, principal_id: str, grant: str) -> None:
        """Ensure an active key row for (env, principal) holding ``grant`` ("individual" or
        "team:<id>"); the seed and salt are wrapped for the principal's identity key."""
        key = self.find_key(env["id"], kind, principal_id)
        if key is None:
            identity = self.identity_of(kind, principal_id)
            if not identity:
                return
            recipient = p.ed25519_pk_to_kx(identity)
            key = {
                "id": new_id(),
                "environment_id": env["id"],
                "kind": kind,
                "principal_id": principal_id,
                "identity_key": env["identity_key"],
                "wrapped_seed": p.encrypt_asymmetric(env["seed"], recipient),
                "wrapped_salt": p.encrypt_asymmetric(env["salt"], recipient),
                "grants": [],
                "created_at": now(),
                "updated_at": now(),
            }
            self.table("keys")[key["id"]] = key
            self._key_index[(env["id"], kind, principal_id)] = key["id"]
        if grant not in key["grants"]:
            key["grants"].append(grant)

    def revoke_grant(self, env_id: str, kind: str, principal_id: str, grant: str) -> None:
        """Drop one grant; a key left without grants is deleted (wiped)."""
        key = self.find_key(env_id, kind, principal_id)
        if key is None:
            return
        if grant in key["grants"]:
            key["grants"].remove(grant)
        if not key["grants"]:
            del self.table("keys")[key["id"]]
            self._key_index.pop((env_id, kind, principal_id), None)

    def find_key(self, env_id: str, kind: str, principal_id: str) -> Row | None:
        keys = self.table("keys")
        if len(self._key_index) != len(keys):
            self._key_index = {
                (k["environment_id"], k["kind"], k["principal_id"]): kid for kid, k in keys.items()
            }
        kid = self._key_index.get((env_id, kind, principal_id))
        return None if kid is None else keys.get(kid)

    def keys_of(self, kind: str, principal_id: str) -> list[Row]:
        return [
            k
            for k in self.table("keys").values()
            if k["kind"] == kind and k["principal_id"] == principal_id
        ]

    def envs_of_app(self, app_id: str) -> list[Row]:
        envs = [e for e in self.table("environments").values() if e["app_id"] == app_id]
        return sorted(envs, key=lambda e: (e["index"], e["created_at"]))

    def delete_environment(self, env_id: str) -> None:
        """Hard delete with its cascade: keys, secrets, team scope rows."""
        self.table("environments").pop(env_id, None)
        for table in ("keys", "secrets"):
            rows = self.table(table)
            for rid in [r for r, row in rows.items() if row["environment_id"] == env_id]:
                del rows[rid]
        for team in self.table("teams").values():
            team["envs"] = [e for e in team["envs"] if e != env_id]

    def delete_app(self, app_id: str) -> None:
        """Hard delete with its cascade (environments, keys, memberships, team scope)."""
        for env in self.envs_of_app(app_id):
            self.delete_environment(env["id"])
        self.table("apps").pop(app_id, None)
        for table in ("members", "service_accounts"):
            for row in self.table(table).values():
                row["apps"] = [a for a in row["apps"] if a != app_id]
