"""SQLiteStateStore: the default StateStore, one SQLite file (WAL) per spec set.

Tables: ``schema_version``, ``ids``, ``fingerprints``, ``records``, ``locks`` and (schema 2)
``settings`` (the sealed fingerprint key, see ``state/keys.py``); the tool migrates an older file
when it opens it. Only non-secret facts are stored (see ``state/store.py``); a fingerprint must
look like an HMAC (``hmac-sha256:<hex>``), so a plaintext passed by mistake is refused rather
than persisted.

The apply lock is a row per scope (holder, host, pid, acquired time), inserted inside
``BEGIN IMMEDIATE`` so two processes cannot both take it. A row left by a dead process on this
host is taken over; a row from another host is reported (``LockedError``) because its liveness
cannot be checked from here. A taken lock is retried until ``lock_timeout`` seconds passed.

The store is safe to share between threads (the executor records outcomes from a pool): one
connection, serialised by a lock.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from reconciler.address import Address
from reconciler.errors import LockedError, StateError
from reconciler.model.resource import JSON, canonical_json
from reconciler.state.keys import fingerprint_key
from reconciler.state.store import Entry, LockInfo, check_fingerprint, group_entries, retry
from reconciler.state.store import now as _now

__all__ = ["SCHEMA_VERSION", "LockInfo", "SQLiteStateStore"]

SCHEMA_VERSION = 2
_TABLES = ("ids", "fingerprints", "records")

_SCHEMA_V1 = """
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS ids (
    address TEXT PRIMARY KEY,
    server_id TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS fingerprints (
    address TEXT NOT NULL,
    attribute TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (address, attribute)
);
CREATE TABLE IF NOT EXISTS records (
    address TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (address, key)
);
CREATE TABLE IF NOT EXISTS locks (
    scope TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    acquired_at TEXT NOT NULL
);
"""
# Each version's statements, applied in order to a file at an older version.
_MIGRATIONS: dict[int, str] = {
    1: _SCHEMA_V1,
    2: "CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);",
}


def _pid_alive(pid: int) -> bool:
    """True when a process with ``pid`` exists on this host (signal 0 checks without killing)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by another user
    return True


class SQLiteStateStore:
    """StateStore over one SQLite file.

    ``fingerprint_key``: when ``None``, resolved by ``state.keys.fingerprint_key`` for the
    database's directory (``env`` defaults to ``os.environ``). Raises ``StateError`` when the
    file cannot be opened, is not a state database, or was written by a newer schema.
    """

    def __init__(
        self,
        path: Path,
        *,
        fingerprint_key: bytes | None = None,
        env: Mapping[str, str] | None = None,
        lock_timeout: float = 0.0,
    ) -> None:
        self.path = Path(path)
        self.lock_timeout = lock_timeout
        self._mutex = threading.RLock()
        self._key = fingerprint_key
        self._env = env
        self.host = socket.gethostname()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # autocommit mode (isolation_level=None): transactions are explicit, so BEGIN
            # IMMEDIATE really is the first statement of the lock transaction.
            self._db = sqlite3.connect(
                str(self.path), timeout=10.0, isolation_level=None, check_same_thread=False
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._migrate()
        except sqlite3.Error as exc:
            raise StateError(f"{self.path}: cannot open state database ({exc})") from None

    # -- schema ---------------------------------------------------------------------------

    def _migrate(self) -> None:
        with self._transaction(immediate=True):
            self._db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            row = self._db.execute("SELECT max(version) FROM schema_version").fetchone()
            version: int = row[0] if row and row[0] is not None else 0
            if version > SCHEMA_VERSION:
                raise StateError(
                    f"{self.path}: state schema version {version} is newer than this reconciler "
                    f"supports ({SCHEMA_VERSION}); upgrade reconciler"
                )
            for step in range(version + 1, SCHEMA_VERSION + 1):
                # One statement at a time: executescript would commit the open transaction.
                for statement in filter(str.strip, _MIGRATIONS[step].split(";")):
                    self._db.execute(statement)
            if version == 0:
                self._db.execute("INSERT INTO schema_version VALUES (?)", (SCHEMA_VERSION,))
            elif version < SCHEMA_VERSION:
                self._db.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION,))

    @contextmanager
    def _transaction(self, immediate: bool = False) -> Iterator[sqlite3.Connection]:
        with self._mutex:
            self._db.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _query(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        with self._mutex:
            try:
                return list(self._db.execute(sql, params).fetchall())
            except sqlite3.Error as exc:
                raise StateError(f"{self.path}: state read failed ({exc})") from None

    def _write(self, sql: str, params: tuple[Any, ...]) -> None:
        try:
            with self._transaction() as db:
                db.execute(sql, params)
        except sqlite3.Error as exc:
            raise StateError(f"{self.path}: state write failed ({exc})") from None

    # -- StateStore -----------------------------------------------------------------------

    @property
    def fingerprint_key(self) -> bytes:
        if self._key is None:
            self._key = fingerprint_key(self.path.parent, self._env, sealed=self)
        return self._key

    @property
    def location(self) -> str:
        return str(self.path)

    def get_id(self, address: Address) -> str | None:
        rows = self._query("SELECT server_id FROM ids WHERE address = ?", (str(address),))
        return str(rows[0][0]) if rows else None

    def set_id(self, address: Address, server_id: str) -> None:
        self._write(
            "INSERT INTO ids (address, server_id, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT(address) DO UPDATE SET server_id = excluded.server_id, "
            "updated_at = excluded.updated_at",
            (str(address), server_id, _now()),
        )

    def get_fingerprint(self, address: Address, attribute: str) -> str | None:
        rows = self._query(
            "SELECT fingerprint FROM fingerprints WHERE address = ? AND attribute = ?",
            (str(address), attribute),
        )
        return str(rows[0][0]) if rows else None

    def set_fingerprint(self, address: Address, attribute: str, fingerprint: str) -> None:
        check_fingerprint(address, attribute, fingerprint)
        self._write(
            "INSERT INTO fingerprints (address, attribute, fingerprint, updated_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT(address, attribute) DO UPDATE SET "
            "fingerprint = excluded.fingerprint, updated_at = excluded.updated_at",
            (str(address), attribute, fingerprint, _now()),
        )

    def get_record(self, address: Address, key: str) -> JSON:
        rows = self._query(
            "SELECT value FROM records WHERE address = ? AND key = ?", (str(address), key)
        )
        if not rows:
            return None
        value: JSON = json.loads(rows[0][0])
        return value

    def set_record(self, address: Address, key: str, value: JSON) -> None:
        self._write(
            "INSERT INTO records (address, key, value, updated_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(address, key) DO UPDATE SET value = excluded.value, "
            "updated_at = excluded.updated_at",
            (str(address), key, canonical_json(value), _now()),
        )

    def forget(self, address: Address) -> None:
        try:
            with self._transaction() as db:
                for table in _TABLES:
                    db.execute(f"DELETE FROM {table} WHERE address = ?", (str(address),))
        except sqlite3.Error as exc:
            raise StateError(f"{self.path}: state write failed ({exc})") from None

    # -- administration (``reconciler state``) --------------------------------------------

    def entries(self) -> list[Entry]:
        return group_entries(
            [(str(a), str(i)) for a, i in self._query("SELECT address, server_id FROM ids", ())],
            [
                (str(a), str(k), str(f))
                for a, k, f in self._query(
                    "SELECT address, attribute, fingerprint FROM fingerprints", ()
                )
            ],
            [
                (str(a), str(k), json.loads(v))
                for a, k, v in self._query("SELECT address, key, value FROM records", ())
            ],
        )

    def entry(self, address: Address) -> Entry:
        found = Entry(address, server_id=self.get_id(address))
        for attribute, fingerprint in self._query(
            "SELECT attribute, fingerprint FROM fingerprints WHERE address = ?", (str(address),)
        ):
            found.fingerprints[str(attribute)] = str(fingerprint)
        for key, value in self._query(
            "SELECT key, value FROM records WHERE address = ?", (str(address),)
        ):
            found.records[str(key)] = json.loads(value)
        return found

    def move(self, old: Address, new: Address) -> None:
        try:
            with self._transaction(immediate=True) as db:
                if self._known(db, new):
                    raise StateError(f"{new}: already has state; forget or move it first")
                if not self._known(db, old):
                    raise StateError(f"{old}: no state to move")
                for table in _TABLES:
                    db.execute(
                        f"UPDATE {table} SET address = ?, updated_at = ? WHERE address = ?",
                        (str(new), _now(), str(old)),
                    )
        except sqlite3.Error as exc:
            raise StateError(f"{self.path}: state write failed ({exc})") from None

    def import_entries(self, entries: list[Entry]) -> None:
        stamp = _now()
        try:
            with self._transaction(immediate=True) as db:
                taken = [str(e.address) for e in entries if self._known(db, e.address)]
                if taken:
                    raise StateError(f"{self.path}: already has state for {', '.join(taken)}")
                for e in entries:
                    a = str(e.address)
                    if e.server_id is not None:
                        db.execute("INSERT INTO ids VALUES (?, ?, ?)", (a, e.server_id, stamp))
                    for attribute, fingerprint in e.fingerprints.items():
                        check_fingerprint(e.address, attribute, fingerprint)
                        db.execute(
                            "INSERT INTO fingerprints VALUES (?, ?, ?, ?)",
                            (a, attribute, fingerprint, stamp),
                        )
                    for key, value in e.records.items():
                        db.execute(
                            "INSERT INTO records VALUES (?, ?, ?, ?)",
                            (a, key, canonical_json(value), stamp),
                        )
        except sqlite3.Error as exc:
            raise StateError(f"{self.path}: state write failed ({exc})") from None

    @staticmethod
    def _known(db: sqlite3.Connection, address: Address) -> bool:
        return any(
            db.execute(f"SELECT 1 FROM {t} WHERE address = ? LIMIT 1", (str(address),)).fetchone()
            for t in _TABLES
        )

    def sealed_key(self) -> str | None:
        rows = self._query("SELECT value FROM settings WHERE name = 'fingerprint_key'", ())
        return str(rows[0][0]) if rows else None

    def seal_key(self, token: str, *, replace: bool = False) -> str:
        conflict = "DO UPDATE SET value = excluded.value" if replace else "DO NOTHING"
        self._write(
            "INSERT INTO settings (name, value) VALUES ('fingerprint_key', ?) "
            f"ON CONFLICT(name) {conflict}",
            (token,),
        )
        kept = self.sealed_key()
        if kept is None:
            raise StateError(f"{self.path}: the sealed fingerprint key was not kept")
        return kept

    # -- lock -----------------------------------------------------------------------------

    @contextmanager
    def lock(self, scope: str, holder: str) -> Iterator[None]:
        """Hold the apply lock of ``scope`` for the ``with`` block; released even on error.

        A lock held by a live process is retried (every 0.2 s) until ``lock_timeout`` passed.
        """
        retry(lambda: self._acquire(scope, holder), self.lock_timeout)
        try:
            yield
        finally:
            self._release(scope)

    def lock_info(self, scope: str) -> LockInfo | None:
        """The current holder of ``scope``'s lock, if any."""
        rows = self._query(
            "SELECT scope, holder, host, pid, acquired_at FROM locks WHERE scope = ?", (scope,)
        )
        return LockInfo(*rows[0]) if rows else None

    def close(self) -> None:
        with self._mutex:
            self._db.close()

    # -- lock internals -------------------------------------------------------------------

    def _acquire(self, scope: str, holder: str) -> None:
        pid = os.getpid()
        try:
            with self._transaction(immediate=True) as db:
                row = db.execute(
                    "SELECT scope, holder, host, pid, acquired_at FROM locks WHERE scope = ?",
                    (scope,),
                ).fetchone()
                if row is not None:
                    info = LockInfo(*row)
                    if info.host != self.host or _pid_alive(info.pid):
                        raise LockedError(None, info.describe())
                    # The holder died without releasing (killed, power loss): take it over.
                    db.execute("DELETE FROM locks WHERE scope = ?", (scope,))
                db.execute(
                    "INSERT INTO locks (scope, holder, host, pid, acquired_at) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (scope, holder, self.host, pid, _now()),
                )
        except sqlite3.OperationalError as exc:
            # "database is locked" after the busy timeout: another process is mid-transaction.
            raise LockedError(None, f"{scope}: cannot take the apply lock ({exc})") from None

    def _release(self, scope: str) -> None:
        try:
            with self._transaction() as db:
                db.execute(
                    "DELETE FROM locks WHERE scope = ? AND host = ? AND pid = ?",
                    (scope, self.host, os.getpid()),
                )
        except sqlite3.Error as exc:
            raise StateError(f"{self.path}: cannot release the apply lock ({exc})") from None
