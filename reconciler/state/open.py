"""Choosing and opening the state backend for a spec set.

``RECONCILER_STATE`` selects it: unset = ``.reconciler/state.db`` next to the spec (inside a
directory spec; in the parent directory of a file spec); a path (or ``sqlite:///path``) = that
SQLite file; a URL ``postgresql://…`` (or ``postgres://…``, optional ``#namespace``) = PostgreSQL
(``state/postgres.py``), for state and locks shared by every runner.

``RECONCILER_LOCK_TIMEOUT`` (seconds, default 0) is how long an apply waits for a target's lock
held by another run before failing with ``LockedError`` naming the holder; ``apply
--lock-timeout`` sets the same on the opened store.

The state directory gets a ``.gitignore`` of ``*`` when the tool creates it, because it sits
beside git-reviewed specs and holds the fingerprint key file when no key is configured.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from reconciler.errors import StateError
from reconciler.state.sqlite import SQLiteStateStore
from reconciler.state.store import StateStore

STATE_VARIABLE = "RECONCILER_STATE"
LOCK_TIMEOUT_VARIABLE = "RECONCILER_LOCK_TIMEOUT"
POSTGRES_SCHEMES = frozenset({"postgresql", "postgres"})
STATE_DIR = ".reconciler"
STATE_FILE = "state.db"


def default_state_path(spec_path: Path) -> Path:
    """``.reconciler/state.db`` inside a directory spec, or beside a file spec."""
    base = spec_path if spec_path.is_dir() else spec_path.parent
    return base / STATE_DIR / STATE_FILE


def state_location(spec_path: Path, env: Mapping[str, str] | None = None) -> str:
    """Where the state of ``spec_path`` lives: a file path or a URL (``RECONCILER_STATE``)."""
    environ = os.environ if env is None else env
    configured = environ.get(STATE_VARIABLE, "").strip()
    return configured or str(default_state_path(spec_path))


def is_postgres(location: str) -> bool:
    """True when a state location is a PostgreSQL URL."""
    return location.split("://", 1)[0].lower() in POSTGRES_SCHEMES if "://" in location else False


def open_store(spec_path: Path, env: Mapping[str, str] | None = None) -> StateStore:
    """Open the state store for the spec set at ``spec_path``; raises ``StateError``."""
    return open_location(state_location(spec_path, env), env)


def open_location(location: str, env: Mapping[str, str] | None = None) -> StateStore:
    """Open the state at ``location`` (a path or URL, as in ``RECONCILER_STATE``)."""
    timeout = lock_timeout(env)
    if is_postgres(location):
        from reconciler.state.postgres import PostgresStateStore

        return PostgresStateStore(location, env=env, lock_timeout=timeout)
    scheme = location.split("://", 1)[0].lower() if "://" in location else ""
    if scheme and scheme != "sqlite":
        raise StateError(f"{STATE_VARIABLE}: unsupported state URL scheme {scheme!r}")
    path = Path(location.split("://", 1)[1]) if scheme == "sqlite" else Path(location)
    _ensure_private_dir(path.parent)
    return SQLiteStateStore(path, env=env, lock_timeout=timeout)


def lock_timeout(env: Mapping[str, str] | None = None) -> float:
    """``RECONCILER_LOCK_TIMEOUT`` in seconds (0 when unset); ``StateError`` when malformed."""
    environ = os.environ if env is None else env
    raw = environ.get(LOCK_TIMEOUT_VARIABLE, "").strip()
    if not raw:
        return 0.0
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 <= value < 10**7:
        raise StateError(f"{LOCK_TIMEOUT_VARIABLE}: expected seconds (a number >= 0)")
    return value


def _ensure_private_dir(directory: Path) -> None:
    if directory.exists():
        return
    try:
        directory.mkdir(parents=True, mode=0o700)
    except OSError as exc:
        raise StateError(f"{directory}: cannot create state directory ({exc.strerror})") from None
    if directory.name == STATE_DIR:
        (directory / ".gitignore").write_text("# reconciler state: never commit\n*\n", "utf-8")
