"""SQLiteStateStore: round trips, lock semantics across processes, fingerprint key handling."""

from __future__ import annotations

import os
import socket
import sqlite3
import stat
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.address import Address
from reconciler.errors import LockedError, StateError
from reconciler.secrets.value import Secret
from reconciler.state.keys import KEY_FILE, fingerprint_key
from reconciler.state.open import default_state_path, open_store
from reconciler.state.sqlite import SCHEMA_VERSION, SQLiteStateStore

A = Address("memory", "item", "api")
B = Address("memory", "group", "backend")
NO_KEYS: dict[str, str] = {}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStateStore]:
    s = SQLiteStateStore(tmp_path / "state.db", env=NO_KEYS)
    yield s
    s.close()


def test_ids_fingerprints_records_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    s = SQLiteStateStore(path, env=NO_KEYS)
    fp = Secret("hunter2").fingerprint(s.fingerprint_key)
    s.set_id(A, "id-1")
    s.set_id(A, "id-2")  # overwrite
    s.set_fingerprint(A, "token", fp)
    s.set_record(A, "minted", {"at": "2024-01-01", "n": [1, 2]})
    s.set_id(B, "g-1")
    s.close()

    again = SQLiteStateStore(path, env=NO_KEYS)
    assert again.get_id(A) == "id-2"
    assert again.get_fingerprint(A, "token") == fp
    assert again.get_fingerprint(A, "other") is None
    assert again.get_record(A, "minted") == {"at": "2024-01-01", "n": [1, 2]}
    assert again.get_record(A, "missing") is None
    again.forget(A)
    assert again.get_id(A) is None
    assert again.get_fingerprint(A, "token") is None
    assert again.get_record(A, "minted") is None
    assert again.get_id(B) == "g-1"
    again.close()


def test_wal_and_schema_version(store: SQLiteStateStore) -> None:
    db = sqlite3.connect(store.path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
    db.close()


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    SQLiteStateStore(path, env=NO_KEYS).close()
    db = sqlite3.connect(path)
    db.execute("UPDATE schema_version SET version = 99")
    db.commit()
    db.close()
    with pytest.raises(StateError, match="newer"):
        SQLiteStateStore(path, env=NO_KEYS)


def test_not_a_database_is_a_state_error(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StateError, match="cannot open"):
        SQLiteStateStore(path, env=NO_KEYS)


def test_plaintext_is_refused_as_fingerprint(store: SQLiteStateStore) -> None:
    with pytest.raises(StateError) as info:
        store.set_fingerprint(A, "token", "hunter2")
    assert "hunter2" not in str(info.value)
    assert store.get_fingerprint(A, "token") is None


def test_lock_released_on_error(store: SQLiteStateStore) -> None:
    with pytest.raises(RuntimeError), store.lock("memory:x", "alice"):
        assert store.lock_info("memory:x") is not None
        raise RuntimeError("boom")
    assert store.lock_info("memory:x") is None
    with store.lock("memory:x", "bob"):
        info = store.lock_info("memory:x")
        assert info is not None and info.holder == "bob" and info.pid == os.getpid()


def test_lock_is_per_scope_and_not_reentrant(store: SQLiteStateStore) -> None:
    with (
        store.lock("memory:a", "alice"),
        store.lock("memory:b", "alice"),
        pytest.raises(LockedError, match="memory:a: apply lock held by alice"),
        store.lock("memory:a", "bob"),
    ):
        pass
    assert store.lock_info("memory:a") is None


HOLDER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from reconciler.state.sqlite import SQLiteStateStore
    s = SQLiteStateStore(Path(sys.argv[1]), env={})
    with s.lock("phase:https://x#org", "ci@runner-7"):
        print("locked", flush=True)
        sys.stdin.readline()
    print("released", flush=True)
    """
)


def test_lock_contention_across_processes(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdin is not None
        assert proc.stdout.readline().strip() == "locked"
        store = SQLiteStateStore(path, env=NO_KEYS)
        with pytest.raises(LockedError) as info, store.lock("phase:https://x#org", "me"):
            pass
        text = str(info.value)
        assert "ci@runner-7" in text and f"pid {proc.pid}" in text and "since 20" in text
        proc.stdin.write("\n")
        proc.stdin.flush()
        assert proc.stdout.readline().strip() == "released"
        with store.lock("phase:https://x#org", "me"):
            pass
        store.close()
    finally:
        proc.kill()
        proc.wait()


def test_dead_pid_on_same_host_is_taken_over(store: SQLiteStateStore) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    db = sqlite3.connect(store.path)
    db.execute(
        "INSERT INTO locks VALUES (?, ?, ?, ?, ?)",
        ("memory:x", "crashed", socket.gethostname(), dead.pid, "2024-01-01T00:00:00+00:00"),
    )
    db.commit()
    db.close()
    with store.lock("memory:x", "me"):
        info = store.lock_info("memory:x")
        assert info is not None and info.holder == "me"


def test_lock_from_other_host_is_not_taken_over(store: SQLiteStateStore) -> None:
    db = sqlite3.connect(store.path)
    db.execute(
        "INSERT INTO locks VALUES (?, ?, ?, ?, ?)",
        ("memory:x", "ci", "elsewhere.example", 1, "2024-01-01T00:00:00+00:00"),
    )
    db.commit()
    db.close()
    with pytest.raises(LockedError, match=r"elsewhere\.example"), store.lock("memory:x", "me"):
        pass


def test_fingerprint_key_file_is_private_and_not_in_db(tmp_path: Path) -> None:
    path = tmp_path / ".reconciler" / "state.db"
    s = SQLiteStateStore(path, env=NO_KEYS)
    key = s.fingerprint_key
    s.set_fingerprint(A, "token", Secret("v").fingerprint(key))
    s.close()
    key_file = path.parent / KEY_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert bytes.fromhex(key_file.read_text().strip()) == key
    # Same key on the next run.
    assert SQLiteStateStore(path, env=NO_KEYS).fingerprint_key == key
    for f in path.parent.iterdir():
        if f.name.startswith("state.db"):
            data = f.read_bytes()
            assert key.hex().encode() not in data and key not in data


def test_fingerprint_key_from_env(tmp_path: Path) -> None:
    explicit = "ab" * 32
    assert fingerprint_key(tmp_path, {"RECONCILER_FINGERPRINT_KEY": explicit}) == bytes.fromhex(
        explicit
    )
    derived = fingerprint_key(tmp_path, {"RECONCILER_SECRET_KEY": "k1, k2"})
    assert derived == fingerprint_key(tmp_path, {"RECONCILER_SECRET_KEY": "k1"})
    assert derived != fingerprint_key(tmp_path, {"RECONCILER_SECRET_KEY": "k2"})
    assert not (tmp_path / KEY_FILE).exists()
    with pytest.raises(StateError, match="not hexadecimal"):
        fingerprint_key(tmp_path, {"RECONCILER_FINGERPRINT_KEY": "zz"})


def test_default_location_and_env_override(tmp_path: Path) -> None:
    spec_dir = tmp_path / "org"
    spec_dir.mkdir()
    spec_file = tmp_path / "one.yaml"
    spec_file.write_text("version: 1\n")
    assert default_state_path(spec_dir) == spec_dir / ".reconciler" / "state.db"
    assert default_state_path(spec_file) == tmp_path / ".reconciler" / "state.db"

    s = open_store(spec_file, env={})
    assert isinstance(s, SQLiteStateStore) and s.path == tmp_path / ".reconciler" / "state.db"
    assert (tmp_path / ".reconciler" / ".gitignore").read_text().strip().endswith("*")
    s.close()

    custom = tmp_path / "elsewhere" / "s.db"
    s = open_store(spec_file, env={"RECONCILER_STATE": str(custom)})
    assert isinstance(s, SQLiteStateStore) and s.path == custom
    s.close()

    with pytest.raises(StateError, match="PostgreSQL state is not available yet"):
        open_store(spec_file, env={"RECONCILER_STATE": "postgresql://u:p@db/state"})
