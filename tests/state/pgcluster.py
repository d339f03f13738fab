"""A throwaway PostgreSQL cluster for the tests: ``initdb`` + ``pg_ctl`` into a temporary
directory, listening on a free loopback port; started once per test process (``cluster()``) and
stopped when the process exits.

Binaries are found on ``PATH`` or in Debian's ``/usr/lib/postgresql/<version>/bin`` (what
``apt-get install postgresql`` gives; ``.ci/run`` installs it when missing). ``initdb`` refuses
to run as root, so under root (CI containers) the cluster runs as ``nobody``. When no binaries
exist the tests that need them skip, unless ``RECONCILER_REQUIRE_POSTGRES=1`` (set by ``.ci/run``)
turns that into a failure. ``Backend`` is one state location (SQLite file or PostgreSQL database)
and the stores a test opened on it.
"""

from __future__ import annotations

import atexit
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest

from reconciler.state.open import open_location
from reconciler.state.store import StateStore

REQUIRE_VARIABLE = "RECONCILER_REQUIRE_POSTGRES"


def bin_dir() -> Path | None:
    """Where ``initdb`` and ``pg_ctl`` are: ``PATH`` first, then the newest Debian version."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(os.path.realpath(found)).parent
    candidates = glob.glob("/usr/lib/postgresql/*/bin/initdb")

    def version(path: str) -> float:
        try:
            return float(Path(path).parents[1].name)
        except ValueError:
            return 0.0

    for path in sorted(candidates, key=version, reverse=True):
        if (Path(path).parent / "pg_ctl").exists():
            return Path(path).parent
    return None


class Cluster:
    """One running cluster; ``url(db)`` connects as the superuser ``postgres`` (trust auth)."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="reconciler-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self._as: dict[str, Any] = {}
        if os.geteuid() == 0:
            nobody = pwd.getpwnam("nobody")
            os.chown(self.root, nobody.pw_uid, nobody.pw_gid)
            self._as = {"user": nobody.pw_uid, "group": nobody.pw_gid, "extra_groups": []}

    def _run(self, *args: str) -> None:
        result = subprocess.run(
            [str(self.bindir / args[0]), *args[1:]],
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            **self._as,
        )
        if result.returncode != 0:
            log = self.root / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{args[0]} failed: {result.stderr or result.stdout}\n{tail}")

    def start(self) -> None:
        self._run(
            "initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust",
            "--no-sync", "-E", "UTF8", "--no-locale",
        )  # fmt: skip
        # Durability off: a test cluster trades crash safety for start and write speed.
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=60"
        )
        self._run(
            "pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.root / "server.log"),
            "-w", "-t", "60", "start",
        )  # fmt: skip

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A fresh, empty database; returns its URL."""
        name = "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(self.url(), autocommit=True) as db:
            db.execute(f"CREATE DATABASE {name} TEMPLATE template0")
        return self.url(name)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


_cluster: Cluster | None = None


def cluster() -> Cluster:
    """The process's cluster, started on first use (skips or fails when PostgreSQL is absent)."""
    global _cluster
    if _cluster is None:
        bindir = bin_dir()
        if bindir is None:
            reason = (
                "PostgreSQL binaries (initdb, pg_ctl) not found on PATH or in "
                "/usr/lib/postgresql/*/bin; install Debian's postgresql package (.ci/run does)"
            )
            if os.environ.get(REQUIRE_VARIABLE) == "1":
                pytest.fail(reason)
            pytest.skip(reason)
        started = Cluster(bindir)
        started.start()
        atexit.register(started.stop)
        _cluster = started
    return _cluster


@dataclass
class Backend:
    """One state location and a way to open stores on it (all closed after the test)."""

    name: str
    location: str
    opened: list[StateStore] = field(default_factory=list)

    def open(self, env: Mapping[str, str] | None = None, lock_timeout: float = 0.0) -> StateStore:
        store = open_location(self.location, env={} if env is None else env)
        store.lock_timeout = lock_timeout
        self.opened.append(store)
        return store

    @property
    def postgres(self) -> bool:
        return self.name == "postgresql"
