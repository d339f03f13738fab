"""PostgresStateStore specifics against a real PostgreSQL: schema versions and concurrent
creation, namespaces, lock rows left by dead holders, a lost connection, no password in
messages, selection through ``RECONCILER_STATE``."""

from __future__ import annotations

import threading
from pathlib import Path

import psycopg
import pytest
from pgcluster import Cluster

from reconciler.address import Address
from reconciler.errors import LockedError, StateError
from reconciler.state.open import open_store
from reconciler.state.pg_schema import SCHEMA_VERSION
from reconciler.state.postgres import PostgresStateStore, lock_key, split_url

A = Address("memory", "item", "api")
KEY = {"RECONCILER_FINGERPRINT_KEY": "ab" * 32}


@pytest.fixture
def url(pg: Cluster) -> str:
    return pg.new_database()


def test_schema_is_created_once_even_by_racing_runners(url: str) -> None:
    stores: list[PostgresStateStore] = []
    errors: list[BaseException] = []

    def connect() -> None:
        try:
            stores.append(PostgresStateStore(url, env=KEY))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=connect) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(stores) == 4
    for s in stores:
        s.close()
    with psycopg.connect(url) as db:
        assert db.execute("SELECT version FROM reconciler_schema").fetchall() == [(SCHEMA_VERSION,)]
        tables = {
            r[0]
            for r in db.execute(
                "SELECT tablename FROM pg_tables WHERE tablename LIKE 'reconciler_%'"
            )
        }
    assert tables == {
        "reconciler_schema",
        "reconciler_ids",
        "reconciler_fingerprints",
        "reconciler_records",
        "reconciler_settings",
        "reconciler_locks",
    }


def test_newer_schema_is_refused(url: str) -> None:
    PostgresStateStore(url, env=KEY).close()
    with psycopg.connect(url) as db:
        db.execute("UPDATE reconciler_schema SET version = 99")
    with pytest.raises(StateError, match="schema version 99 is newer"):
        PostgresStateStore(url, env=KEY)


def test_namespaces_keep_spec_sets_apart_but_share_locks(url: str) -> None:
    first = PostgresStateStore(url + "#payments", env=KEY)
    second = PostgresStateStore(url + "#billing", env=KEY)
    default = PostgresStateStore(url, env=KEY)
    assert (first.namespace, second.namespace, default.namespace) == (
        "payments",
        "billing",
        "default",
    )
    first.set_id(A, "p-1")
    second.set_id(A, "b-1")
    assert (first.get_id(A), second.get_id(A), default.get_id(A)) == ("p-1", "b-1", None)
    second.forget(A)
    assert first.get_id(A) == "p-1"
    # A lock belongs to the target, whichever spec set manages it.
    with first.lock("phase:https://x#org", "payments-ci"), pytest.raises(LockedError):
        second.lock("phase:https://x#org", "billing-ci").__enter__()
    for s in (first, second, default):
        s.close()


def test_row_of_a_dead_holder_neither_blocks_nor_names_it(url: str) -> None:
    store = PostgresStateStore(url, env=KEY)
    with psycopg.connect(url, autocommit=True) as db:
        db.execute(
            "INSERT INTO reconciler_locks VALUES (%s, 'crashed@old', 'gone', 1, 999999, "
            "'2024-01-01T00:00:00+00:00')",
            ("memory:x",),
        )
    assert store.lock_info("memory:x") is None
    with store.lock("memory:x", "me"):
        info = store.lock_info("memory:x")
        assert info is not None and info.holder == "me"
    with psycopg.connect(url) as db:
        assert db.execute("SELECT count(*) FROM reconciler_locks").fetchone() == (0,)
    store.close()


def test_lost_connection_releases_the_lock_and_stops_writes(url: str) -> None:
    holder = PostgresStateStore(url, env=KEY)
    other = PostgresStateStore(url, env=KEY)
    with holder.lock("memory:x", "runner-1"):
        with psycopg.connect(url, autocommit=True) as admin:
            (pid,) = admin.execute(
                "SELECT backend_pid FROM reconciler_locks WHERE scope = 'memory:x'"
            ).fetchone() or (0,)
            admin.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,))  # waits for the exit
        with other.lock("memory:x", "runner-2"):  # at once: the lock died with the session
            pass
        with pytest.raises(StateError, match="state write failed"):
            holder.set_id(A, "lost")
    # Leaving the block after the loss is quiet: there is nothing left to release.
    holder.close()
    other.close()


def test_password_never_in_messages(pg: Cluster) -> None:
    url = f"postgresql://postgres:S3cr%2Ft-pw@127.0.0.1:{pg.port}/no_such_db"
    with pytest.raises(StateError) as info:
        PostgresStateStore(url, env=KEY)
    text = str(info.value)
    assert "no_such_db" in text and "S3cr" not in text and "***" in text


def test_lock_keys_are_stable_and_distinct() -> None:
    assert lock_key("phase:https://x#org") == lock_key("phase:https://x#org")
    assert lock_key("phase:https://x#org") != lock_key("phase:https://x#org2")
    assert -(2**63) <= lock_key("memory:x") < 2**63
    assert split_url("postgresql://h/db#ns") == ("postgresql://h/db", "ns")
    assert split_url("postgresql://h/db") == ("postgresql://h/db", "default")


def test_open_store_selects_postgres(url: str, tmp_path: Path) -> None:
    spec = tmp_path / "org.yaml"
    spec.write_text("version: 1\n")
    env = {"RECONCILER_STATE": url, "RECONCILER_LOCK_TIMEOUT": "3", **KEY}
    store = open_store(spec, env=env)
    assert isinstance(store, PostgresStateStore) and store.lock_timeout == 3
    assert store.location == url
    store.close()
    assert not (tmp_path / ".reconciler").exists()
    store = open_store(spec, env={**env, "RECONCILER_STATE": url.replace("postgresql", "postgres")})
    assert isinstance(store, PostgresStateStore)
    store.close()
