"""Fixtures of the Connect provider's end-to-end tests (helpers in ``connect_org``)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.sandboxes import serve

sys.path.insert(0, str(Path(__file__).resolve().parent))

from connect_org import Org

from reconciler.sandbox.connect.server import ConnectSandbox


@pytest.fixture(scope="session")
def connect_sandbox() -> Iterator[ConnectSandbox]:
    yield from serve(lambda: ConnectSandbox(port=0))


@pytest.fixture
def org(connect_sandbox: ConnectSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Org:
    """The example (copied) against a freshly reset sandbox."""
    return Org(connect_sandbox, tmp_path, monkeypatch)
