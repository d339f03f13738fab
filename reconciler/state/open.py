"""Choosing and opening the state backend for a spec set.

``RECONCILER_STATE`` selects it: unset = ``.reconciler/state.db`` next to the spec (inside a
directory spec; in the parent directory of a file spec); a path = that SQLite file; a URL
``postgresql://…`` = PostgreSQL (not available yet: a clear ``StateError``).

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


def open_store(spec_path: Path, env: Mapping[str, str] | None = None) -> StateStore:
    """Open the state store for the spec set at ``spec_path``; raises ``StateError``."""
    location = state_location(spec_path, env)
    scheme = location.split("://", 1)[0].lower() if "://" in location else ""
    if scheme in {"postgresql", "postgres"}:
        raise StateError(
            f"{STATE_VARIABLE}: PostgreSQL state is not available yet; "
            "unset it to use the SQLite file next to the spec"
        )
    if scheme and scheme != "sqlite":
        raise StateError(f"{STATE_VARIABLE}: unsupported state URL scheme {scheme!r}")
    path = Path(location.split("://", 1)[1]) if scheme == "sqlite" else Path(location)
    _ensure_private_dir(path.parent)
    return SQLiteStateStore(path, env=env)


def _ensure_private_dir(directory: Path) -> None:
    if directory.exists():
        return
    try:
        directory.mkdir(parents=True, mode=0o700)
    except OSError as exc:
        raise StateError(f"{directory}: cannot create state directory ({exc.strerror})") from None
    if directory.name == STATE_DIR:
        (directory / ".gitignore").write_text("# reconciler state: never commit\n*\n", "utf-8")
