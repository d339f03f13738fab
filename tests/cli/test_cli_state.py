"""``reconciler state list/show/mv/migrate`` and ``apply --lock-timeout`` through the CLI, over
the memory provider, with SQLite and a real PostgreSQL (the throwaway cluster of tests/state)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import psycopg
import pytest
from cli_org import Org
from cryptography.fernet import Fernet

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "state"))
from pgcluster import cluster

ADDRESSES = ["memory.group.backend", "memory.group.frontend", "memory.item.api", "memory.item.web"]


def applied(org: Org) -> None:
    result = org.run("apply", str(org.spec), "--auto-approve")
    assert result.exit_code == 0, result.output


def listing(org: Org) -> list[list[str]]:
    result = org.run("state", "list", "--spec", str(org.spec))
    assert result.exit_code == 0, result.output
    return [line.split("\t") for line in result.stdout.splitlines()]


def test_list_show_and_mv_on_sqlite(org: Org) -> None:
    missing = org.run("state", "list", "--spec", str(org.spec))
    assert missing.exit_code == 1 and "no state here" in missing.stderr
    assert not (org.spec.parent / ".reconciler").exists()  # looking created nothing

    applied(org)
    rows = listing(org)
    assert [r[0] for r in rows] == ADDRESSES
    api = next(r for r in rows if r[0] == "memory.item.api")
    # the one record: when, and by which plan, the write-only token was sent
    assert api[1].startswith("id=") and api[2:] == ["fingerprints=1", "records=1"]

    shown = org.run("state", "show", "memory.item.api", "--spec", str(org.spec))
    assert shown.exit_code == 0, shown.output
    document = json.loads(shown.stdout)
    assert document["address"] == "memory.item.api"
    assert document["id"] == org.objects()["memory.item.api"]["id"]
    assert document["fingerprints"]["token"].startswith("hmac-sha256:")
    assert "PLAINTEXT" not in shown.stdout  # a fingerprint, never the token
    assert set(document["records"]["secrets_set"]["token"]) == {"at", "plan"}

    unknown = org.run("state", "show", "memory.item.nothing", "--spec", str(org.spec))
    assert unknown.exit_code == 1 and "memory.item.nothing: no state" in unknown.stderr
    bad = org.run("state", "show", "not-an-address", "--spec", str(org.spec))
    assert bad.exit_code == 1 and "expected provider.kind.name" in bad.stderr

    moved = org.run("state", "mv", "memory.item.api", "memory.item.api2", "--spec", str(org.spec))
    assert moved.exit_code == 0, moved.output
    assert "Moved state of memory.item.api to memory.item.api2" in moved.stderr
    assert "memory.item.api2" in [r[0] for r in listing(org)]
    clash = org.run("state", "mv", "memory.item.api2", "memory.item.web", "--spec", str(org.spec))
    assert clash.exit_code == 1 and "memory.item.web: already has state" in clash.stderr


def test_migrate_to_postgres_keeps_ids_fingerprints_and_key(
    org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = cluster().new_database()
    applied(org)  # SQLite, fingerprint key in the key file (no key variable set)
    before = listing(org)
    state_dir = org.spec.parent / ".reconciler"
    key_hex = (state_dir / "fingerprint.key").read_text().strip()

    refused = org.run("state", "migrate", "--to", url, "--spec", str(org.spec))
    assert refused.exit_code == 1 and "cannot carry the fingerprint key" in refused.stderr
    assert key_hex not in refused.stderr
    secret = Fernet.generate_key().decode()
    monkeypatch.setenv("RECONCILER_SECRET_KEY", secret)
    ambiguous = org.run("state", "migrate", "--to", url, "--spec", str(org.spec))
    assert ambiguous.exit_code == 1 and "RECONCILER_FINGERPRINT_KEY" in ambiguous.stderr
    with psycopg.connect(url) as db:  # nothing was written by the refusals
        assert db.execute("SELECT count(*) FROM reconciler_ids").fetchone() == (0,)

    monkeypatch.setenv("RECONCILER_FINGERPRINT_KEY", key_hex)  # the key the applies used
    done = org.run("state", "migrate", "--to", url, "--spec", str(org.spec))
    assert done.exit_code == 0, done.output
    assert "Migrated 4 addresses (4 ids, 1 fingerprints, 1 records)" in done.stderr
    again = org.run("state", "migrate", "--to", url, "--spec", str(org.spec))
    assert again.exit_code == 1 and "already holds state" in again.stderr

    # A runner with only the database and the Fernet key: same state, nothing to change.
    shutil.rmtree(state_dir)
    monkeypatch.delenv("RECONCILER_FINGERPRINT_KEY")
    monkeypatch.setenv("RECONCILER_STATE", url)
    assert listing(org) == before
    plan = org.run("plan", str(org.spec), "--detailed-exitcode")
    assert plan.exit_code == 0, plan.output
    assert not state_dir.exists()
    # The token still compares by fingerprint: changing it shows.
    monkeypatch.setenv("MEMORY_TOKEN", "another-token")
    changed = org.run("plan", str(org.spec), "--detailed-exitcode")
    assert changed.exit_code == 2 and "memory.item.api" in changed.stdout


def test_migrate_needs_a_postgres_url_and_a_source(org: Org, tmp_path: Path) -> None:
    applied(org)
    wrong = org.run("state", "migrate", "--to", str(tmp_path / "x.db"), "--spec", str(org.spec))
    assert wrong.exit_code == 1 and "expected a postgresql:// URL" in wrong.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    none = org.run("state", "migrate", "--to", "postgresql://h/db", "--spec", str(empty))
    assert none.exit_code == 1 and "no SQLite state to migrate" in none.stderr


HOLDER = textwrap.dedent(
    """
    import sys
    from reconciler.state.open import open_location
    s = open_location(sys.argv[1], env={})
    with s.lock(sys.argv[2], "release-bot@ci"):
        print("locked", flush=True)
        sys.stdin.readline()
    """
)


def test_apply_lock_timeout_with_postgres_state(org: Org, monkeypatch: pytest.MonkeyPatch) -> None:
    url = cluster().new_database()
    monkeypatch.setenv("RECONCILER_STATE", url)
    monkeypatch.setenv("RECONCILER_SECRET_KEY", Fernet.generate_key().decode())
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, url, f"memory:{org.live}"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdin is not None
        assert holder.stdout.readline().strip() == "locked"
        blocked = org.run("apply", str(org.spec), "--auto-approve")
        assert blocked.exit_code == 1
        assert f"apply lock held by release-bot@ci (pid {holder.pid}" in blocked.stderr
        assert not org.live.exists()  # nothing applied

        timed_out = org.run("apply", str(org.spec), "--auto-approve", "--lock-timeout", "0.5")
        assert timed_out.exit_code == 1 and "waited 0.5s" in timed_out.stderr

        stdin = holder.stdin
        release = threading.Timer(1.0, lambda: (stdin.write("\n"), stdin.flush()))
        release.start()
        waited = org.run("apply", str(org.spec), "--auto-approve", "--lock-timeout", "30")
        release.join()
        assert waited.exit_code == 0, waited.output
        assert set(org.objects()) == set(ADDRESSES)
    finally:
        holder.kill()
        holder.wait()
