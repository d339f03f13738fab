"""``migrate_to_postgres``: a SQLite state arrives in PostgreSQL unchanged (ids, fingerprints,
records) with the fingerprint key its applies used, the SQLite file is only read, and every
refusal writes nothing."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from pgcluster import Cluster

from reconciler.address import Address
from reconciler.errors import StateError
from reconciler.secrets.value import Secret
from reconciler.state.keys import fingerprint_key
from reconciler.state.migrate import migrate_to_postgres
from reconciler.state.postgres import PostgresStateStore
from reconciler.state.sqlite import SQLiteStateStore
from reconciler.state.store import Entry

A = Address("phase", "service_account_token", "ci-deployer/deploy")
B = Address("connect", "opportunity", "malaria-2025")


def fill(path: Path, env: dict[str, str]) -> tuple[list[Entry], bytes]:
    store = SQLiteStateStore(path, env=env)
    key = store.fingerprint_key
    store.set_id(A, "tok-7f3")
    store.set_fingerprint(A, "token", Secret("s3cret").fingerprint(key))
    store.set_record(A, "minted_at", "2025-03-01T10:00:00Z")
    store.set_id(B, "opp-42")
    store.set_record(B, "payment_units", {"visit": "pu-1", "ids": [1, 2]})
    entries = store.entries()
    store.close()
    return entries, key


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_state_and_sealed_key_arrive_unchanged(pg: Cluster, tmp_path: Path) -> None:
    env = {"RECONCILER_SECRET_KEY": Fernet.generate_key().decode()}
    source = tmp_path / "state.db"
    entries, key = fill(source, env)
    before = digest(source)
    url = pg.new_database() + "#org-a"
    report = migrate_to_postgres(source, url, env)
    assert "Migrated 2 addresses (2 ids, 1 fingerprints, 2 records)" in report
    target = PostgresStateStore(url, env=env)
    assert target.entries() == entries
    assert target.fingerprint_key == key  # runners need only the database and the Fernet key
    target.close()
    assert digest(source) == before


def test_key_derived_by_earlier_versions_is_carried(pg: Cluster, tmp_path: Path) -> None:
    """A state written before keys were sealed: its fingerprints used the derived key."""
    env = {"RECONCILER_SECRET_KEY": Fernet.generate_key().decode()}
    source = tmp_path / "state.db"
    store = SQLiteStateStore(source, env=env, fingerprint_key=fingerprint_key(tmp_path, env))
    store.set_fingerprint(A, "token", Secret("x").fingerprint(store.fingerprint_key))
    store.close()
    url = pg.new_database()
    migrate_to_postgres(source, url, env)
    target = PostgresStateStore(url, env=env)
    assert target.fingerprint_key == fingerprint_key(tmp_path, env)
    target.close()
    assert SQLiteStateStore(source, env=env, fingerprint_key=b"k" * 16).sealed_key() is None


def test_explicit_key_needs_no_sealing(pg: Cluster, tmp_path: Path) -> None:
    env = {"RECONCILER_FINGERPRINT_KEY": "12" * 32}
    entries, key = fill(tmp_path / "state.db", env)
    url = pg.new_database()
    migrate_to_postgres(tmp_path / "state.db", url, env)
    target = PostgresStateStore(url, env=env)
    assert target.entries() == entries and target.fingerprint_key == key
    assert target.sealed_key() is None
    target.close()


def test_refusals_write_nothing(pg: Cluster, tmp_path: Path) -> None:
    secret = {"RECONCILER_SECRET_KEY": Fernet.generate_key().decode()}
    fill(tmp_path / "state.db", secret)
    url = pg.new_database()
    # The database already keeps another key: the fingerprints would not match it.
    other = PostgresStateStore(url, env={"RECONCILER_SECRET_KEY": secret["RECONCILER_SECRET_KEY"]})
    other.seal_key(Fernet(secret["RECONCILER_SECRET_KEY"].encode()).encrypt(b"ab" * 16).decode())
    with pytest.raises(StateError, match="already keeps another fingerprint key"):
        migrate_to_postgres(tmp_path / "state.db", url, secret)
    assert other.entries() == []
    # A namespace that holds state.
    other.set_id(B, "x")
    with pytest.raises(StateError, match="already holds state"):
        migrate_to_postgres(tmp_path / "state.db", url, secret)
    assert [e.address for e in other.entries()] == [B]
    other.close()
    # No key variable at all: the key file cannot be shared.
    keyless = tmp_path / "keyless"
    fill(keyless / "state.db", {})
    fresh = pg.new_database()
    with pytest.raises(StateError, match="cannot carry the fingerprint key"):
        migrate_to_postgres(keyless / "state.db", fresh, {})
    with pytest.raises(StateError, match="expected a postgresql:// URL"):
        migrate_to_postgres(keyless / "state.db", str(tmp_path / "x.db"), {})
