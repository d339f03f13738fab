"""The sandbox's organisation state, kept in SQLite.

The organisation is a set of tables of JSON rows (``members``, ``apps``, ``environments``,
``keys``, ...) held in memory under one lock and written to a SQLite file (one row per table):
a request that changed something schedules a write, which a background thread makes within
``WRITE_DELAY`` seconds (coalescing bursts; only changed tables are rewritten); ``flush`` and
``close`` write at once. A sandbox without a data directory writes to a temporary
file that is removed on stop; one with a data directory keeps ``phase.sqlite3`` there, so a
restart resumes the organisation.

Rows carry what the Phase server stores (``api/models.py``), with the same crypto: members and
service accounts have ed25519 identity keys, environments an X25519 key pair derived from a seed,
``keys`` are ``EnvironmentKey`` rows whose ``wrapped_seed``/``wrapped_salt`` are ``ph:v1``
ciphertexts for the grantee, ``server_key`` on an environment is its ``ServerEnvironmentKey``
(only SSE environments have one). The server never keeps an environment seed in plaintext: it
unwraps its ``server_key`` when it needs one, exactly like the real server. Because the sandbox
also plays the users' devices, a member row keeps the member's ed25519 signing key and password
(the ``/_sandbox/principals/`` view hands them to tests).
"""

from __future__ import annotations

import contextlib
import datetime
import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from reconciler.crypto import primitives as p
from reconciler.sandbox.phase.order import Shuffle
from reconciler.sandbox.phase.wire import instant

Row = dict[str, Any]
WRITE_DELAY = 0.05
TABLES = (
    "roles",
    "members",
    "service_accounts",
    "tokens",
    "apps",
    "environments",
    "keys",
    "secrets",
    "invites",
    "teams",
    "sessions",
)


def now() -> str:
    """The current instant as DRF renders it."""
    return instant()


def stamps() -> tuple[str, str]:
    """``(created_at, updated_at)`` of a new row. Django fills ``auto_now_add`` and
    ``auto_now`` one after the other, so on the real server a new row's ``updatedAt`` is a few
    microseconds after its ``createdAt`` (recorded: 6 to 10); clients must not take them equal."""
    created = datetime.datetime.now(datetime.UTC)
    return instant(created), instant(created + datetime.timedelta(microseconds=7))


def new_id() -> str:
    return str(uuid.uuid4())


class Store:
    """One organisation; callers hold ``lock`` around every read-modify-write."""

    def __init__(self, path: Path) -> None:
        self.lock = threading.RLock()
        self.path = path
        self.order = Shuffle()  # lists the real server answers in no fixed order
        self.data: dict[str, Any] = {}
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS state (name TEXT PRIMARY KEY, body TEXT)")
        for name, body in self._db.execute("SELECT name, body FROM state"):
            self.data[name] = json.loads(body)
        self._keys_by_slot: dict[tuple[str, str, str], str] = {}
        self._keys_by_principal: dict[tuple[str, str], dict[str, None]] = {}
        self.reindex()
        self._written: dict[str, str] = {}
        self._dirty = threading.Event()
        self._closed = False
        self._writer = threading.Thread(target=self._write_behind, daemon=True)
        self._writer.start()

    @property
    def empty(self) -> bool:
        return "org" not in self.data

    def save(self) -> None:
        """Schedule a write: changes are coalesced and written within ``WRITE_DELAY``
        seconds by a background thread (``flush`` writes at once)."""
        self._dirty.set()

    def flush(self) -> None:
        """Write the tables that changed since the last write, in one SQLite transaction."""
        with self.lock:
            if self._closed:
                return
            self._dirty.clear()
            bodies = {name: json.dumps(value) for name, value in self.data.items()}
            changed = [(n, b) for n, b in bodies.items() if self._written.get(n) != b]
            gone = [n for n in self._written if n not in bodies]
            if not changed and not gone:
                return
            self._db.execute("BEGIN")
            self._db.executemany("DELETE FROM state WHERE name = ?", [(n,) for n in gone])
            self._db.executemany("INSERT OR REPLACE INTO state (name, body) VALUES (?, ?)", changed)
            self._db.execute("COMMIT")
            self._written = bodies

    def _write_behind(self) -> None:
        """Coalesce writes; a large organisation (slow to serialise) is written less often, so
        writing never takes more than about a tenth of the time."""
        delay = WRITE_DELAY
        while not self._closed:
            if self._dirty.wait(timeout=1.0):
                time.sleep(delay)
                started = time.monotonic()
                self.flush()
                delay = max(WRITE_DELAY, 10 * (time.monotonic() - started))

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """All or nothing: the organisation is restored if the block raises."""
        with self.lock:
            before = json.dumps(self.data)
            try:
                yield
            except BaseException:
                self.data = json.loads(before)
                self.reindex()
                raise

    def close(self) -> None:
        """Write what is pending and close the database."""
        self.flush()
        with self.lock:
            self._closed = True
            self._db.close()

    # -- collections ----------------------------------------------------------------------

    def table(self, name: str) -> dict[str, Row]:
        table: dict[str, Row] = self.data.setdefault(name, {})
        return table

    @property
    def org(self) -> Row:
        org: Row = self.data["org"]
        return org

    @property
    def plan(self) -> str:
        return str(self.org["plan"])

    def server_keypair(self) -> tuple[str, str]:
        """``get_server_keypair()``: ``crypto_kx_seed_keypair(SERVER_SECRET)``."""
        return p.kx_seed_keypair(str(self.org["server_secret"]))

    def reset(self, plan: str = "PR") -> None:
        """An empty organisation (no roles, no members)."""
        self.data = {
            "org": {
                "id": new_id(),
                "name": "sandbox-org",
                "plan": plan,
                "server_secret": p.random_hex(),
                "created_at": now(),
            }
        }
        for name in TABLES:
            self.data[name] = {}
        self.reindex()

    # -- environment keys (indexed: an organisation can hold tens of thousands) ------------

    def reindex(self) -> None:
        """Rebuild the key indexes from the ``keys`` table (after ``data`` was replaced)."""
        self._keys_by_slot = {}
        self._keys_by_principal = {}
        for key in self.table("keys").values():
            self._index(key)

    def _index(self, key: Row) -> None:
        slot = (key["environment_id"], key["kind"], key["principal_id"])
        self._keys_by_slot[slot] = key["id"]
        ordered = self._keys_by_principal.setdefault((key["kind"], key["principal_id"]), {})
        ordered[key["id"]] = None  # an ordered set: creation order

    def add_key(self, key: Row) -> None:
        """Store a new key row (one active key per environment and principal)."""
        self.table("keys")[key["id"]] = key
        self._index(key)

    def drop_key(self, key_id: str) -> None:
        """Remove a key row (the server soft-deletes and wipes it; nothing reads it again)."""
        key = self.table("keys").pop(key_id, None)
        if key is None:
            return
        self._keys_by_slot.pop((key["environment_id"], key["kind"], key["principal_id"]), None)
        self._keys_by_principal.get((key["kind"], key["principal_id"]), {}).pop(key_id, None)

    # -- lookups --------------------------------------------------------------------------

    def active(self, table: str, row_id: Any) -> Row | None:
        """A row that exists and is not soft-deleted."""
        if not isinstance(row_id, str):
            return None
        row = self.table(table).get(row_id)
        return row if row is not None and row.get("deleted_at") is None else None

    def role_of(self, row: Row) -> Row | None:
        return self.table("roles").get(row.get("role_id") or "")

    def envs_of_app(self, app_id: str) -> list[Row]:
        envs = [e for e in self.table("environments").values() if e["app_id"] == app_id]
        return sorted(envs, key=lambda e: (e["index"], e["created_at"]))

    def find_key(self, env_id: str, kind: str, principal_id: str) -> Row | None:
        key_id = self._keys_by_slot.get((env_id, kind, principal_id))
        return None if key_id is None else self.table("keys").get(key_id)

    def keys_of(self, kind: str, principal_id: str) -> list[Row]:
        table = self.table("keys")
        ids = self._keys_by_principal.get((kind, principal_id), {})
        keys = [table[i] for i in ids if i in table]
        return sorted(keys, key=lambda k: k["created_at"])

    def keys_of_env(self, env_id: str) -> list[Row]:
        return [k for k in self.table("keys").values() if k["environment_id"] == env_id]

    def principal(self, kind: str, principal_id: str) -> Row | None:
        return self.active("members" if kind == "user" else "service_accounts", principal_id)

    # -- principals -----------------------------------------------------------------------

    def add_member(
        self,
        email: str,
        role_id: str,
        full_name: str | None = None,
        *,
        identity: bool = True,
        password: str | None = None,
    ) -> Row:
        """A member as the console's key ceremony leaves it: an ed25519 identity key whose
        signing half the sandbox keeps (it plays the member's device). ``identity=False`` is a
        member who has not logged in yet (SCIM-provisioned): no identity key."""
        pk, sk = p.sign_keypair() if identity else (None, None)
        stamp = now()
        member: Row = {
            "id": new_id(),
            "email": email.strip().lower(),
            "full_name": full_name,
            "role_id": role_id,
            "identity_key": pk,
            "signing_key": sk,
            "password": password or p.random_hex(12),
            "apps": [],
            "created_at": stamp,
            "updated_at": stamp,
            "deleted_at": None,
        }
        self.table("members")[member["id"]] = member
        return member

    def sa_keyring(self, sa: Row) -> dict[str, str]:
        """The SSK service account's keyring, unwrapped with the server key."""
        server_pk, server_sk = self.server_keypair()
        keyring: dict[str, str] = json.loads(
            p.decrypt_asymmetric(sa["server_wrapped_keyring"], server_sk, server_pk)
        )
        return keyring

    def kx_keypair_of(self, kind: str, row: Row) -> tuple[str, str]:
        """The principal's X25519 key pair (what its tokens split and recover)."""
        if kind == "user":
            return p.ed25519_pk_to_kx(row["identity_key"]), p.ed25519_sk_to_kx(row["signing_key"])
        keyring = self.sa_keyring(row)
        return p.ed25519_pk_to_kx(keyring["publicKey"]), p.ed25519_sk_to_kx(keyring["privateKey"])

    def mint_token(self, kind: str, owner: Row, name: str, expires_at: str | None) -> str:
        """A real token (``pss_user:v1`` for members, ``pss_service:v2`` for SAs): the kx
        private key is XOR-split, share A goes into the token string, share B is stored wrapped
        with the token's wrap key (docs/phase-api.md#token-key-material, #primitives)."""
        kx_pub, kx_priv = self.kx_keypair_of(kind, owner)
        share_a, share_b = p.split_secret_hex(kx_priv)
        wrap_key = p.random_hex()
        bearer = p.random_hex()
        token: Row = {
            "id": new_id(),
            "kind": kind,
            "owner_id": owner["id"],
            "name": name,
            "token": bearer,
            "identity_key": kx_pub,
            "wrapped_key_share": p.wrap_share_hex(share_b, wrap_key),
            "created_at": now(),
            "expires_at": expires_at,
            "deleted_at": None,
            "last_used_at": None,
        }
        self.table("tokens")[token["id"]] = token
        prefix = "pss_user:v1" if kind == "user" else "pss_service:v2"
        return f"{prefix}:{bearer}:{kx_pub}:{share_a}:{wrap_key}"

    def token_row(self, full_token: str) -> Row | None:
        bearer = full_token.split(":")[2] if full_token.count(":") >= 5 else full_token
        return next((t for t in self.table("tokens").values() if t["token"] == bearer), None)
