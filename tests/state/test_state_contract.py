"""The StateStore contract, run against both backends (SQLite file, real PostgreSQL).

Round trips across reopen, refusal of plaintext fingerprints, the apply lock (per scope, not
re-entrant, across processes, waiting with a timeout, taken at once after ``kill -9`` of its
holder), the administrative operations behind ``reconciler state`` and the sealed
fingerprint key.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from pgcluster import Backend

from reconciler.address import Address
from reconciler.errors import LockedError, StateError
from reconciler.secrets.value import Secret
from reconciler.state.store import Entry

A = Address("memory", "item", "api")
B = Address("memory", "group", "backend")
C = Address("memory", "item", "renamed")
SCOPE = "phase:https://x#org"
FKEY = {"RECONCILER_FINGERPRINT_KEY": "ab" * 32}


def test_ids_fingerprints_records_round_trip(backend: Backend) -> None:
    s = backend.open(FKEY)
    fp = Secret("hunter2").fingerprint(s.fingerprint_key)
    s.set_id(A, "id-1")
    s.set_id(A, "id-2")  # overwrite
    s.set_fingerprint(A, "token", fp)
    record = {"at": "2024-01-01", "n": [1, 2.5, None, True], "é": "ünïcode ✓"}
    s.set_record(A, "minted", record)
    s.set_record(A, "scalar", 7)
    s.set_id(B, "g-1")
    s.close()

    again = backend.open(FKEY)
    assert again.get_id(A) == "id-2"
    assert again.get_fingerprint(A, "token") == fp
    assert again.get_fingerprint(A, "other") is None
    assert again.get_record(A, "minted") == record
    assert again.get_record(A, "scalar") == 7
    assert again.get_record(A, "missing") is None
    again.forget(A)
    assert again.get_id(A) is None
    assert again.get_fingerprint(A, "token") is None
    assert again.get_record(A, "minted") is None
    assert again.get_id(B) == "g-1"


def test_plaintext_is_refused_as_fingerprint(backend: Backend) -> None:
    store = backend.open(FKEY)
    with pytest.raises(StateError) as info:
        store.set_fingerprint(A, "token", "hunter2")
    assert "hunter2" not in str(info.value)
    assert store.get_fingerprint(A, "token") is None


def test_writes_from_many_threads(backend: Backend) -> None:
    """The executor records outcomes from a thread pool through one store."""
    store = backend.open(FKEY)
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(20):
                address = Address("memory", "item", f"t{n}-{i}")
                store.set_id(address, f"{n}-{i}")
                store.set_record(address, "n", i)
                assert store.get_id(address) == f"{n}-{i}"
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(store.entries()) == 120


# -- the apply lock -------------------------------------------------------------------------


def test_lock_released_on_error(backend: Backend) -> None:
    store = backend.open(FKEY)
    with pytest.raises(RuntimeError), store.lock("memory:x", "alice"):
        assert store.lock_info("memory:x") is not None
        raise RuntimeError("boom")
    assert store.lock_info("memory:x") is None
    with store.lock("memory:x", "bob"):
        info = store.lock_info("memory:x")
        assert info is not None and info.holder == "bob" and info.pid == os.getpid()


def test_lock_is_per_scope_and_not_reentrant(backend: Backend) -> None:
    store = backend.open(FKEY)
    with (
        store.lock("memory:a", "alice"),
        store.lock("memory:b", "alice"),
        pytest.raises(LockedError, match="memory:a: apply lock held by alice"),
        store.lock("memory:a", "bob"),
    ):
        pass
    assert store.lock_info("memory:a") is None
    with store.lock("memory:a", "bob"):  # the refused attempt did not break the held lock
        pass


HOLDER = textwrap.dedent(
    """
    import sys
    from reconciler.state.open import open_location
    s = open_location(sys.argv[1], env={})
    with s.lock(sys.argv[2], "ci@runner-7"):
        print("locked", flush=True)
        sys.stdin.readline()
    print("released", flush=True)
    """
)


def start_holder(location: str, scope: str = SCOPE) -> subprocess.Popen[str]:
    """A separate process holding ``scope`` until a line arrives on its stdin."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, location, scope],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_lock_contention_across_processes(backend: Backend) -> None:
    proc = start_holder(backend.location)
    try:
        assert proc.stdout is not None and proc.stdin is not None
        store = backend.open(FKEY)
        with pytest.raises(LockedError) as info, store.lock(SCOPE, "me"):
            pass
        text = str(info.value)
        assert "ci@runner-7" in text and f"pid {proc.pid}" in text and "since 20" in text
        holder = store.lock_info(SCOPE)
        assert holder is not None and holder.holder == "ci@runner-7" and holder.pid == proc.pid
        proc.stdin.write("\n")
        proc.stdin.flush()
        assert proc.stdout.readline().strip() == "released"
        with store.lock(SCOPE, "me"):
            pass
    finally:
        proc.kill()
        proc.wait()


def test_lock_timeout_waits_for_the_holder(backend: Backend) -> None:
    proc = start_holder(backend.location)
    try:
        assert proc.stdin is not None
        waiting = backend.open(FKEY, lock_timeout=0.3)
        started = time.monotonic()
        with (
            pytest.raises(LockedError, match=r"held by ci@runner-7 .*waited"),
            waiting.lock(SCOPE, "me"),
        ):
            pass
        assert time.monotonic() - started >= 0.3

        waiting.lock_timeout = 20
        release = threading.Timer(0.8, lambda: (proc.stdin.write("\n"), proc.stdin.flush()))
        release.start()
        started = time.monotonic()
        with waiting.lock(SCOPE, "me"):
            waited = time.monotonic() - started
            info = waiting.lock_info(SCOPE)
            assert info is not None and info.holder == "me"
        release.join()
        assert 0.7 <= waited < 10
    finally:
        proc.kill()
        proc.wait()


def test_killed_holder_leaves_no_stale_lock(backend: Backend) -> None:
    proc = start_holder(backend.location)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    # The timeout only absorbs the server noticing the closed socket (milliseconds): no
    # staleness delay, no manual unlock.
    store = backend.open(FKEY, lock_timeout=5)
    started = time.monotonic()
    with store.lock(SCOPE, "next-run"):
        info = store.lock_info(SCOPE)
        assert info is not None and info.holder == "next-run" and info.pid == os.getpid()
    assert time.monotonic() - started < 1


# -- administration -------------------------------------------------------------------------


def test_entries_move_and_import(backend: Backend) -> None:
    store = backend.open(FKEY)
    fp = Secret("v").fingerprint(store.fingerprint_key)
    store.set_id(A, "i-1")
    store.set_fingerprint(A, "token", fp)
    store.set_record(A, "minted", {"at": 1})
    store.set_record(B, "only-record", [1])
    assert [e.address for e in store.entries()] == [B, A]
    assert store.entry(A) == Entry(A, "i-1", {"token": fp}, {"minted": {"at": 1}})
    assert store.entry(C).empty

    store.move(A, C)
    assert store.entry(A).empty
    assert store.entry(C) == Entry(C, "i-1", {"token": fp}, {"minted": {"at": 1}})
    with pytest.raises(StateError, match="already has state"):
        store.move(B, C)
    with pytest.raises(StateError, match="no state to move"):
        store.move(A, Address("memory", "item", "nothing"))

    with pytest.raises(StateError, match=r"already has state for memory\.group\.backend"):
        store.import_entries([Entry(A, "new"), Entry(B, "g")])
    assert store.entry(A).empty  # all or nothing
    store.import_entries([Entry(A, "new", {"token": fp}, {"k": "v"})])
    assert store.entry(A) == Entry(A, "new", {"token": fp}, {"k": "v"})
    with pytest.raises(StateError, match="not a fingerprint"):
        store.import_entries([Entry(Address("memory", "item", "z"), None, {"t": "plain"})])


# -- the fingerprint key --------------------------------------------------------------------


def test_sealed_fingerprint_key_is_shared_and_survives_rotation(backend: Backend) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    first = backend.open({"RECONCILER_SECRET_KEY": old})
    key = first.fingerprint_key
    token = first.sealed_key()
    assert token is not None and key.hex() not in token
    assert Fernet(old.encode()).decrypt(token.encode()) == key.hex().encode()
    # Another runner with the same secret agrees, without any key file or extra variable.
    assert backend.open({"RECONCILER_SECRET_KEY": old}).fingerprint_key == key
    # Rotation: the new key first, the old kept: same fingerprint key, re-sealed under the new.
    rotated = backend.open({"RECONCILER_SECRET_KEY": f"{new},{old}"})
    assert rotated.fingerprint_key == key
    resealed = rotated.sealed_key()
    assert resealed is not None and resealed != token
    assert Fernet(new.encode()).decrypt(resealed.encode()) == key.hex().encode()
    assert backend.open({"RECONCILER_SECRET_KEY": new}).fingerprint_key == key
    # A key that never sealed it cannot open it; the explicit variable still wins.
    with pytest.raises(StateError, match="does not open with any key"):
        _ = backend.open({"RECONCILER_SECRET_KEY": Fernet.generate_key().decode()}).fingerprint_key
    explicit = backend.open({"RECONCILER_SECRET_KEY": old, **FKEY}).fingerprint_key
    assert explicit == bytes.fromhex(FKEY["RECONCILER_FINGERPRINT_KEY"]) != key


def test_sealed_key_is_the_key_earlier_versions_derived(backend: Backend, tmp_path: Path) -> None:
    """Existing fingerprints stay valid when a store first seals the key."""
    from reconciler.state.keys import fingerprint_key

    secret = Fernet.generate_key().decode()
    derived = fingerprint_key(tmp_path, {"RECONCILER_SECRET_KEY": secret})
    assert backend.open({"RECONCILER_SECRET_KEY": secret}).fingerprint_key == derived


def test_without_any_key_variable(backend: Backend) -> None:
    store = backend.open({})
    if backend.postgres:
        with pytest.raises(StateError, match="RECONCILER_SECRET_KEY"):
            _ = store.fingerprint_key
    else:  # a key file beside the state database
        assert len(store.fingerprint_key) == 32
        assert (Path(backend.location).parent / "fingerprint.key").exists()
    with pytest.raises(StateError, match="not a valid Fernet key"):
        _ = backend.open({"RECONCILER_SECRET_KEY": "not-a-key"}).fingerprint_key
