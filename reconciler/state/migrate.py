"""Moving a SQLite state into PostgreSQL (``reconciler state migrate --to postgresql://…``).

Contract: every address's id, fingerprints and records arrive unchanged, in one transaction,
into a namespace that holds no state yet (otherwise ``StateError``, nothing written). The
fingerprints were computed with the SQLite state's fingerprint key, so that key must reach the
runners too: it is sealed into the database with ``RECONCILER_SECRET_KEY``. When only
``RECONCILER_FINGERPRINT_KEY`` is set it keeps winning and nothing needs sealing; when neither is
set the migration is refused before anything is written (the key file cannot be shared safely
any other way). Run it with the key variables the applies used: when ``RECONCILER_SECRET_KEY``
is set now but the SQLite state has a key file and no sealed key, which key made its
fingerprints is ambiguous, and the migration asks (``RECONCILER_FINGERPRINT_KEY`` = the file's
hex settles it). The SQLite file is only read.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from reconciler.errors import StateError
from reconciler.state.keys import (
    KEY_FILE,
    KEY_VARIABLE,
    SECRET_KEY_VARIABLE,
    fingerprint_key,
    seal,
    unseal,
)
from reconciler.state.open import is_postgres
from reconciler.state.sqlite import SQLiteStateStore
from reconciler.state.store import StateStore


def migrate_to_postgres(source: Path, url: str, env: Mapping[str, str]) -> str:
    """Copy the SQLite state at ``source`` to the PostgreSQL state at ``url``; returns a
    one-line summary. Raises ``StateError`` (see the module docstring)."""
    if not is_postgres(url):
        raise StateError(f"--to: expected a postgresql:// URL, got {url.split('://')[0]!r}")
    from reconciler.state.postgres import PostgresStateStore

    src = SQLiteStateStore(source, env=env)
    try:
        entries = src.entries()
        needs_key = any(e.fingerprints for e in entries)
        key_file = source.parent / KEY_FILE
        if (
            needs_key
            and not env.get(KEY_VARIABLE, "").strip()
            and env.get(SECRET_KEY_VARIABLE, "").strip()
            and src.sealed_key() is None
            and key_file.exists()
        ):
            raise StateError(
                f"{source}: its fingerprints may have been made with {key_file} (applies "
                f"without {SECRET_KEY_VARIABLE}) or with {SECRET_KEY_VARIABLE}; if the former, "
                f"set {KEY_VARIABLE} to the file's hex for the migration, else remove the file"
            )
        key = _source_key(src, source, env) if needs_key else None
    finally:
        src.close()
    dst = PostgresStateStore(url, env=env)
    try:
        if dst.entries():
            raise StateError(
                f"{dst.location}: namespace {dst.namespace!r} already holds state; migrate into "
                "an empty one (another #namespace, or a new database)"
            )
        if key is not None:
            _carry_key(key, dst, source, env)
        dst.import_entries(entries)
        if dst.entries() != entries:
            raise StateError(f"{dst.location}: the copied state does not read back the same")
        location = dst.location
    finally:
        dst.close()
    return (
        f"Migrated {len(entries)} addresses ({sum(e.server_id is not None for e in entries)} "
        f"ids, {sum(len(e.fingerprints) for e in entries)} fingerprints, "
        f"{sum(len(e.records) for e in entries)} records) from {source} to {location}"
    )


def _source_key(src: SQLiteStateStore, source: Path, env: Mapping[str, str]) -> bytes:
    """The key the source's fingerprints were made with, resolved as its applies resolved it
    but without sealing anything into the source (it is only read)."""
    sealed = src.sealed_key()
    explicit = env.get(KEY_VARIABLE, "").strip()
    if sealed is not None and not explicit and env.get(SECRET_KEY_VARIABLE, "").strip():
        return unseal(sealed, env)
    return fingerprint_key(source.parent, env)


def _carry_key(key: bytes, dst: StateStore, source: Path, env: Mapping[str, str]) -> None:
    """Make ``dst`` resolve the fingerprint key to ``key`` (see the module docstring)."""
    if env.get(SECRET_KEY_VARIABLE, "").strip():
        kept = dst.seal_key(seal(key, env))
        if unseal(kept, env) != key:
            raise StateError(
                f"{dst.location}: the database already keeps another fingerprint key; "
                "the migrated fingerprints would not match it"
            )
        return
    if env.get(KEY_VARIABLE, "").strip():
        return  # it wins on every runner that sets it
    raise StateError(
        f"cannot carry the fingerprint key: set {SECRET_KEY_VARIABLE} (the key is then sealed "
        f"into the database with it), or set {KEY_VARIABLE} on every runner to the hex in "
        f"{source.parent / KEY_FILE}"
    )
