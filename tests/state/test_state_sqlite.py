"""SQLiteStateStore specifics: WAL, schema versions and migration, dead-process lock rows,
the key file, the default location. The shared contract is in ``test_state_contract.py``."""

from __future__ import annotations

import socket
import sqlite3
import stat
import subprocess
import sys
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

    with pytest.raises(StateError, match="unsupported state URL scheme 'mysql'"):
        open_store(spec_file, env={"RECONCILER_STATE": "mysql://u:p@db/state"})
    for bad in ("soon", "-1", "nan", "inf"):
        with pytest.raises(StateError, match="RECONCILER_LOCK_TIMEOUT"):
            open_store(spec_file, env={"RECONCILER_LOCK_TIMEOUT": bad})
    s = open_store(spec_file, env={"RECONCILER_LOCK_TIMEOUT": "2.5"})
    assert s.lock_timeout == 2.5
    s.close()


V1_SCHEMA = """
CREATE TABLE schema_version (version INTEGER NOT NULL);
INSERT INTO schema_version VALUES (1);
CREATE TABLE ids (address TEXT PRIMARY KEY, server_id TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE fingerprints (address TEXT NOT NULL, attribute TEXT NOT NULL,
    fingerprint TEXT NOT NULL, updated_at TEXT NOT NULL, PRIMARY KEY (address, attribute));
CREATE TABLE records (address TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
    updated_at TEXT NOT NULL, PRIMARY KEY (address, key));
CREATE TABLE locks (scope TEXT PRIMARY KEY, holder TEXT NOT NULL, host TEXT NOT NULL,
    pid INTEGER NOT NULL, acquired_at TEXT NOT NULL);
INSERT INTO ids VALUES ('memory.item.api', 'i-1', '2024-01-01T00:00:00+00:00');
INSERT INTO records VALUES ('memory.item.api', 'minted', '{"at":1}', '2024-01-01T00:00:00+00:00');
"""


def test_version_1_file_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    db = sqlite3.connect(path)
    db.executescript(V1_SCHEMA)
    db.close()
    store = SQLiteStateStore(path, env=NO_KEYS)
    assert store.get_id(A) == "i-1" and store.get_record(A, "minted") == {"at": 1}
    assert store.seal_key("token-1") == "token-1"  # the settings table exists now
    store.close()
    db = sqlite3.connect(path)
    assert db.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
    db.close()
