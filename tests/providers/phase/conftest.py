"""Fixtures of the Phase provider's end-to-end tests (helpers in ``phase_org``)."""

from __future__ import annotations

import functools
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from phase_org import Org

from reconciler.crypto.password import password_auth_hash
from reconciler.providers.phase import console

# The console login hash is Argon2id with 256 MiB and about half a second per computation; every
# CLI run of a test logs in again with the same password. The real function runs once per
# (password, email), then its answer is reused.
_auth_hash = functools.cache(password_auth_hash)


@pytest.fixture(autouse=True)
def _login_hash_computed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(console, "password_auth_hash", _auth_hash)


@pytest.fixture
def org(phase: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Org]:
    """The example organisation (copied) against a freshly reset sandbox."""
    yield Org(phase, tmp_path, monkeypatch)
