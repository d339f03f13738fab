"""Fixtures of the Phase provider's end-to-end tests (helpers in ``phase_org``)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from phase_org import Org


@pytest.fixture
def org(phase: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Org]:
    """The example organisation (copied) against a freshly reset sandbox."""
    yield Org(phase, tmp_path, monkeypatch)
