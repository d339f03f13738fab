"""State fixtures: the throwaway PostgreSQL cluster (``pgcluster.py``) and ``backend``, which
runs a test once against SQLite and once against PostgreSQL (a fresh database each time)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from pgcluster import Cluster, cluster

from reconciler.state.open import open_location
from reconciler.state.store import StateStore


@pytest.fixture(scope="session")
def pg() -> Cluster:
    return cluster()


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


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "sqlite":
        location = str(tmp_path / ".reconciler" / "state.db")
    else:
        location = request.getfixturevalue("pg").new_database()
    found = Backend(request.param, location)
    yield found
    for store in found.opened:
        store.close()
