"""The PostgreSQL state schema: versioned migrations, lock keys and lock-holder queries.

``migrate`` brings a database to ``SCHEMA_VERSION``: each step of ``MIGRATIONS`` above the
version recorded in ``reconciler_schema`` runs, all in one transaction, under a
transaction-level advisory lock (two runners connecting together: the second waits, then sees
the tables made). A database at a newer version is refused with ``StateError``, so an old
runner never writes a schema it does not know. Add a step to change the schema; never edit one.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any
from urllib.parse import urldefrag

import psycopg

from reconciler.errors import StateError
from reconciler.model.resource import JSON

SCHEMA_VERSION = 1
DEFAULT_NAMESPACE = "default"

# Each version's statements, run in order on a database at an older version.
MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        """CREATE TABLE reconciler_ids (
            namespace TEXT NOT NULL, address TEXT NOT NULL, server_id TEXT NOT NULL,
            updated_at TEXT NOT NULL, PRIMARY KEY (namespace, address))""",
        """CREATE TABLE reconciler_fingerprints (
            namespace TEXT NOT NULL, address TEXT NOT NULL, attribute TEXT NOT NULL,
            fingerprint TEXT NOT NULL, updated_at TEXT NOT NULL,
            PRIMARY KEY (namespace, address, attribute))""",
        """CREATE TABLE reconciler_records (
            namespace TEXT NOT NULL, address TEXT NOT NULL, key TEXT NOT NULL,
            value TEXT NOT NULL, updated_at TEXT NOT NULL,
            PRIMARY KEY (namespace, address, key))""",
        """CREATE TABLE reconciler_settings (
            namespace TEXT NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL,
            PRIMARY KEY (namespace, name))""",
        """CREATE TABLE reconciler_locks (
            scope TEXT PRIMARY KEY, holder TEXT NOT NULL, host TEXT NOT NULL,
            pid INTEGER NOT NULL, backend_pid INTEGER NOT NULL, acquired_at TEXT NOT NULL)""",
    ),
}

# The advisory-lock key guarding migrations (distinct from every apply-lock key's prefix).
_SCHEMA_LOCK = int.from_bytes(
    hashlib.sha256(b"reconciler schema migration").digest()[:8], "big", signed=True
)

# A ``locks`` row counts only while the backend that wrote it holds the advisory lock
# (a bigint key shows in pg_locks as classid = high 32 bits, objid = low 32 bits, objsubid 1).
_HOLDS = """EXISTS (SELECT 1 FROM pg_locks k WHERE k.locktype = 'advisory' AND k.granted
    AND k.objsubid = 1 AND ((k.classid::bigint << 32) | k.objid::bigint) = %s {pid})"""
LIVE_HOLDER = (
    "SELECT l.scope, l.holder, l.host, l.pid, l.acquired_at FROM reconciler_locks l "
    "WHERE l.scope = %s AND " + _HOLDS.format(pid="AND k.pid = l.backend_pid")
)
LOCK_BACKEND = (
    "SELECT k.pid FROM pg_locks k WHERE k.locktype = 'advisory' AND k.granted "
    "AND k.objsubid = 1 AND ((k.classid::bigint << 32) | k.objid::bigint) = %s"
)


def lock_key(scope: str) -> int:
    """The advisory-lock key of ``scope``: the first 8 bytes of its SHA-256, signed (stable
    across processes, machines and Python versions, unlike ``hash``)."""
    digest = hashlib.sha256(b"reconciler apply lock\0" + scope.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def split_url(url: str) -> tuple[str, str]:
    """``(libpq URL, namespace)`` of a state URL (the namespace is its fragment)."""
    conninfo, fragment = urldefrag(url)
    return conninfo, fragment or DEFAULT_NAMESPACE


def migrate(db: psycopg.Connection[tuple[Any, ...]], location: str) -> None:
    """Create or upgrade the schema (see the module docstring); raises ``StateError``."""
    try:
        with db.transaction():
            db.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
            db.execute("CREATE TABLE IF NOT EXISTS reconciler_schema (version INTEGER NOT NULL)")
            row = db.execute("SELECT max(version) FROM reconciler_schema").fetchone()
            version: int = row[0] if row and row[0] is not None else 0
            if version > SCHEMA_VERSION:
                raise StateError(
                    f"{location}: state schema version {version} is newer than this reconciler "
                    f"supports ({SCHEMA_VERSION}); upgrade reconciler"
                )
            for step in range(version + 1, SCHEMA_VERSION + 1):
                for statement in MIGRATIONS[step]:
                    db.execute(statement.encode("utf-8"))
            if version == 0:
                db.execute("INSERT INTO reconciler_schema VALUES (%s)", (SCHEMA_VERSION,))
            elif version < SCHEMA_VERSION:
                db.execute("UPDATE reconciler_schema SET version = %s", (SCHEMA_VERSION,))
    except psycopg.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise StateError(f"{location}: cannot prepare the state schema ({first})") from None


def json_value(text: Any) -> JSON:
    """A stored record value (canonical JSON text) as JSON."""
    value: JSON = json.loads(str(text))
    return value
