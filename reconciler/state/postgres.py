"""PostgresStateStore: the StateStore in a PostgreSQL database (psycopg 3), shared by runners.

Selected by ``RECONCILER_STATE=postgresql://user@host/db`` (libpq URL; the password may come
from the URL, ``PGPASSWORD`` or ``~/.pgpass``). An optional fragment names a *namespace*,
``postgresql://…/db#payments``, so several spec sets (repositories, organisations) can share
one database without their addresses colliding; the default namespace is ``default``. Apply
locks are not namespaced: they belong to the target (organisation), whoever manages it.

Tables, prefixed ``reconciler_`` in the connection's schema: ``schema``, ``ids``,
``fingerprints``, ``records``, ``settings`` (the sealed fingerprint key, per namespace) and
``locks``. The tool creates and migrates them when it connects, under a transaction-level
advisory lock so two runners starting together do not race; a database at a newer version is
refused.

The apply lock of a scope is a *session-level advisory lock* on a stable 64-bit hash of the
scope (``lock_key``): PostgreSQL releases it when the connection ends, so a runner killed with
``kill -9`` (or a lost machine, once the server notices the dead socket) never leaves a stale
lock. While held, a ``locks`` row names the holder for a blocked run; a row whose backend no
longer holds the advisory lock is ignored and overwritten by the next holder.

One connection (autocommit; explicit transactions where several statements must agree) is
shared by the executor's threads under a mutex. The lock lives on that connection too: if it is
lost mid-apply, every later state write fails loudly instead of continuing unlocked.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote

import psycopg
import psycopg.errors
from psycopg.conninfo import conninfo_to_dict

from reconciler.address import Address
from reconciler.errors import LockedError, StateError
from reconciler.model.resource import JSON, canonical_json
from reconciler.state import pg_schema
from reconciler.state.keys import fingerprint_key
from reconciler.state.pg_schema import lock_key, split_url
from reconciler.state.store import Entry, LockInfo, check_fingerprint, group_entries, now

__all__ = ["PostgresStateStore", "lock_key", "split_url"]

CONNECT_TIMEOUT = 10
_TABLES = ("reconciler_ids", "reconciler_fingerprints", "reconciler_records")


class PostgresStateStore:
    """StateStore over a PostgreSQL database; see the module docstring.

    ``fingerprint_key``: when ``None``, resolved by ``state.keys.fingerprint_key`` with no key
    file (``RECONCILER_FINGERPRINT_KEY``, or the key sealed in the store with
    ``RECONCILER_SECRET_KEY``). Raises ``StateError`` when the database cannot be reached, or
    its schema is newer than this version supports; messages never hold the password.
    """

    def __init__(
        self,
        url: str,
        *,
        fingerprint_key: bytes | None = None,
        env: Mapping[str, str] | None = None,
        lock_timeout: float = 0.0,
    ) -> None:
        conninfo, self.namespace = split_url(url)
        self.lock_timeout = lock_timeout
        self._key = fingerprint_key
        self._env = env
        self._mutex = threading.RLock()
        self._held: dict[str, LockInfo] = {}
        self.host = socket.gethostname()
        try:
            params = conninfo_to_dict(conninfo)
        except psycopg.Error:
            raise StateError("RECONCILER_STATE: not a valid PostgreSQL URL") from None
        self._password = str(params.get("password") or "")
        self._location = self._redact(url)
        extra: dict[str, Any] = {"autocommit": True, "application_name": "reconciler"}
        if "connect_timeout" not in params:
            extra["connect_timeout"] = CONNECT_TIMEOUT
        try:
            self._db = psycopg.connect(conninfo, **extra)
        except psycopg.Error as exc:
            raise StateError(
                f"{self._location}: cannot connect to the state database ({self._why(exc)})"
            ) from None
        try:
            pg_schema.migrate(self._db, self._location)
        except BaseException:
            self._db.close()
            raise

    # -- helpers --------------------------------------------------------------------------

    def _redact(self, text: str) -> str:
        if not self._password:
            return text
        for form in {self._password, quote(self._password, safe="")}:
            text = text.replace(form, "***")
        return text

    def _why(self, exc: BaseException) -> str:
        return self._redact(str(exc).strip().splitlines()[0] if str(exc).strip() else "error")

    def _rows(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        with self._mutex:
            try:
                return list(self._db.execute(sql, params).fetchall())
            except psycopg.Error as exc:
                raise StateError(
                    f"{self._location}: state read failed ({self._why(exc)})"
                ) from None

    @contextmanager
    def _transaction(self) -> Iterator[psycopg.Connection[tuple[Any, ...]]]:
        with self._mutex:
            try:
                with self._db.transaction():
                    yield self._db
            except psycopg.Error as exc:
                raise StateError(
                    f"{self._location}: state write failed ({self._why(exc)})"
                ) from None

    def _write(self, sql: str, params: tuple[Any, ...]) -> None:
        with self._transaction() as db:
            db.execute(sql, params)

    # -- StateStore -----------------------------------------------------------------------

    @property
    def fingerprint_key(self) -> bytes:
        if self._key is None:
            self._key = fingerprint_key(None, self._env, sealed=self)
        return self._key

    @property
    def location(self) -> str:
        return self._location

    def get_id(self, address: Address) -> str | None:
        rows = self._rows(
            "SELECT server_id FROM reconciler_ids WHERE namespace = %s AND address = %s",
            (self.namespace, str(address)),
        )
        return str(rows[0][0]) if rows else None

    def set_id(self, address: Address, server_id: str) -> None:
        self._write(
            "INSERT INTO reconciler_ids (namespace, address, server_id, updated_at) "
            "VALUES (%s, %s, %s, %s) ON CONFLICT (namespace, address) DO UPDATE SET "
            "server_id = excluded.server_id, updated_at = excluded.updated_at",
            (self.namespace, str(address), server_id, now()),
        )

    def get_fingerprint(self, address: Address, attribute: str) -> str | None:
        rows = self._rows(
            "SELECT fingerprint FROM reconciler_fingerprints "
            "WHERE namespace = %s AND address = %s AND attribute = %s",
            (self.namespace, str(address), attribute),
        )
        return str(rows[0][0]) if rows else None

    def set_fingerprint(self, address: Address, attribute: str, fingerprint: str) -> None:
        check_fingerprint(address, attribute, fingerprint)
        self._write(
            "INSERT INTO reconciler_fingerprints "
            "(namespace, address, attribute, fingerprint, updated_at) "
            "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (namespace, address, attribute) "
            "DO UPDATE SET fingerprint = excluded.fingerprint, updated_at = excluded.updated_at",
            (self.namespace, str(address), attribute, fingerprint, now()),
        )

    def get_record(self, address: Address, key: str) -> JSON:
        rows = self._rows(
            "SELECT value FROM reconciler_records "
            "WHERE namespace = %s AND address = %s AND key = %s",
            (self.namespace, str(address), key),
        )
        return pg_schema.json_value(rows[0][0]) if rows else None

    def set_record(self, address: Address, key: str, value: JSON) -> None:
        self._write(
            "INSERT INTO reconciler_records (namespace, address, key, value, updated_at) "
            "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (namespace, address, key) "
            "DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            (self.namespace, str(address), key, canonical_json(value), now()),
        )

    def forget(self, address: Address) -> None:
        with self._transaction() as db:
            for table in _TABLES:
                db.execute(
                    f"DELETE FROM {table} WHERE namespace = %s AND address = %s",
                    (self.namespace, str(address)),
                )

    # -- administration (``reconciler state``) --------------------------------------------

    def entries(self) -> list[Entry]:
        ns = (self.namespace,)
        ids = self._rows("SELECT address, server_id FROM reconciler_ids WHERE namespace = %s", ns)
        fps = self._rows(
            "SELECT address, attribute, fingerprint FROM reconciler_fingerprints "
            "WHERE namespace = %s",
            ns,
        )
        recs = self._rows(
            "SELECT address, key, value FROM reconciler_records WHERE namespace = %s", ns
        )
        return group_entries(
            [(str(a), str(i)) for a, i in ids],
            [(str(a), str(k), str(f)) for a, k, f in fps],
            [(str(a), str(k), pg_schema.json_value(v)) for a, k, v in recs],
        )

    def entry(self, address: Address) -> Entry:
        key = (self.namespace, str(address))
        where = "WHERE namespace = %s AND address = %s"
        found = Entry(address, server_id=self.get_id(address))
        for attribute, fingerprint in self._rows(
            f"SELECT attribute, fingerprint FROM reconciler_fingerprints {where}", key
        ):
            found.fingerprints[str(attribute)] = str(fingerprint)
        for name, value in self._rows(f"SELECT key, value FROM reconciler_records {where}", key):
            found.records[str(name)] = pg_schema.json_value(value)
        return found

    def move(self, old: Address, new: Address) -> None:
        with self._transaction() as db:
            if self._known(db, new):
                raise StateError(f"{new}: already has state; forget or move it first")
            if not self._known(db, old):
                raise StateError(f"{old}: no state to move")
            for table in _TABLES:
                db.execute(
                    f"UPDATE {table} SET address = %s, updated_at = %s "
                    "WHERE namespace = %s AND address = %s",
                    (str(new), now(), self.namespace, str(old)),
                )

    def import_entries(self, entries: list[Entry]) -> None:
        stamp, ns = now(), self.namespace
        with self._transaction() as db:
            taken = [str(e.address) for e in entries if self._known(db, e.address)]
            if taken:
                raise StateError(
                    f"{self._location}: namespace {ns!r} already has state for {', '.join(taken)}"
                )
            for e in entries:
                a = str(e.address)
                if e.server_id is not None:
                    db.execute(
                        "INSERT INTO reconciler_ids VALUES (%s, %s, %s, %s)",
                        (ns, a, e.server_id, stamp),
                    )
                for attribute, fingerprint in e.fingerprints.items():
                    check_fingerprint(e.address, attribute, fingerprint)
                    db.execute(
                        "INSERT INTO reconciler_fingerprints VALUES (%s, %s, %s, %s, %s)",
                        (ns, a, attribute, fingerprint, stamp),
                    )
                for key, value in e.records.items():
                    db.execute(
                        "INSERT INTO reconciler_records VALUES (%s, %s, %s, %s, %s)",
                        (ns, a, key, canonical_json(value), stamp),
                    )

    def _known(self, db: psycopg.Connection[tuple[Any, ...]], address: Address) -> bool:
        return any(
            db.execute(
                f"SELECT 1 FROM {t} WHERE namespace = %s AND address = %s LIMIT 1",
                (self.namespace, str(address)),
            ).fetchone()
            for t in _TABLES
        )

    def sealed_key(self) -> str | None:
        rows = self._rows(
            "SELECT value FROM reconciler_settings WHERE namespace = %s AND name = %s",
            (self.namespace, "fingerprint_key"),
        )
        return str(rows[0][0]) if rows else None

    def seal_key(self, token: str, *, replace: bool = False) -> str:
        conflict = "DO UPDATE SET value = excluded.value" if replace else "DO NOTHING"
        self._write(
            "INSERT INTO reconciler_settings (namespace, name, value) VALUES (%s, %s, %s) "
            f"ON CONFLICT (namespace, name) {conflict}",
            (self.namespace, "fingerprint_key", token),
        )
        kept = self.sealed_key()
        if kept is None:
            raise StateError(f"{self._location}: the sealed fingerprint key was not kept")
        return kept

    # -- lock -----------------------------------------------------------------------------

    @contextmanager
    def lock(self, scope: str, holder: str) -> Iterator[None]:
        """Hold the advisory lock of ``scope`` for the ``with`` block; released even on error
        (and by the server if this process dies)."""
        self._acquire(scope, holder)
        try:
            yield
        finally:
            self._release(scope)

    def lock_info(self, scope: str) -> LockInfo | None:
        rows = self._rows(pg_schema.LIVE_HOLDER, (scope, lock_key(scope)))
        return LockInfo(*rows[0]) if rows else None

    def _acquire(self, scope: str, holder: str) -> None:
        key = lock_key(scope)
        with self._mutex:
            if scope in self._held:
                raise LockedError(None, self._held[scope].describe())
            try:
                got = self._db.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()
                if not (got and got[0]):
                    self._wait(scope, key)
                info = LockInfo(scope, holder, self.host, os.getpid(), now())
                # Any row left here is a dead holder's (we hold the advisory lock): replace it.
                self._db.execute(
                    "INSERT INTO reconciler_locks VALUES (%s, %s, %s, %s, pg_backend_pid(), %s) "
                    "ON CONFLICT (scope) DO UPDATE SET holder = excluded.holder, "
                    "host = excluded.host, pid = excluded.pid, "
                    "backend_pid = excluded.backend_pid, acquired_at = excluded.acquired_at",
                    (scope, holder, self.host, info.pid, info.acquired_at),
                )
            except psycopg.Error as exc:
                raise StateError(
                    f"{self._location}: cannot take the apply lock ({self._why(exc)})"
                ) from None
            self._held[scope] = info

    def _wait(self, scope: str, key: int) -> None:
        """Block in ``pg_advisory_lock`` for at most ``lock_timeout`` seconds (the server's
        ``lock_timeout``), so the lock passes on the moment its holder lets go."""
        if self.lock_timeout <= 0:
            raise LockedError(None, self._blocked(scope, key))
        try:
            with self._db.transaction():
                millis = max(1, round(self.lock_timeout * 1000))
                self._db.execute("SELECT set_config('lock_timeout', %s, true)", (f"{millis}ms",))
                self._db.execute("SELECT pg_advisory_lock(%s)", (key,))
        except psycopg.errors.LockNotAvailable:
            message = f"{self._blocked(scope, key)}; waited {self.lock_timeout:g}s"
            raise LockedError(None, message) from None

    def _blocked(self, scope: str, key: int) -> str:
        """Who holds ``scope`` (its row, if the backend that wrote it still holds the lock)."""
        rows = self._db.execute(pg_schema.LIVE_HOLDER, (scope, key)).fetchall()
        if rows:
            return LockInfo(*rows[0]).describe()
        backends = self._db.execute(pg_schema.LOCK_BACKEND, (key,)).fetchall()
        who = f"database session {backends[0][0]}" if backends else "another session"
        return f"{scope}: apply lock held by {who} (holder not yet recorded)"

    def _release(self, scope: str) -> None:
        with self._mutex:
            self._held.pop(scope, None)
            if self._db.closed or self._db.broken:
                return  # the server released the lock with the connection
            try:
                self._db.execute(
                    "DELETE FROM reconciler_locks WHERE scope = %s "
                    "AND backend_pid = pg_backend_pid()",
                    (scope,),
                )
                self._db.execute("SELECT pg_advisory_unlock(%s)", (lock_key(scope),))
            except psycopg.Error as exc:
                if self._db.closed or self._db.broken:
                    return  # lost just now: the server released the lock with it
                raise StateError(
                    f"{self._location}: cannot release the apply lock ({self._why(exc)})"
                ) from None

    def close(self) -> None:
        with self._mutex:
            self._held.clear()
            self._db.close()
