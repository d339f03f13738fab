"""Fixtures of the fault, crash and hostile-input campaigns: one ``Rig`` (sandbox behind the
fault proxy, baseline measured) per provider, started once per session and stopped at its end."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import PROVIDERS, Rig


@pytest.fixture(scope="session", params=PROVIDERS)
def rig(request: pytest.FixtureRequest) -> Iterator[Rig]:
    rig = Rig(request.param)
    try:
        rig.measure_baseline()
        yield rig
    finally:
        rig.close()
