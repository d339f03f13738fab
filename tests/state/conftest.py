"""State fixtures: the throwaway PostgreSQL cluster (``pgcluster.py``) and ``backend``, which
runs a test once against SQLite and once against PostgreSQL (a fresh database each time)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pgcluster import Backend, Cluster, cluster


@pytest.fixture(scope="session")
def pg() -> Cluster:
    return cluster()


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
