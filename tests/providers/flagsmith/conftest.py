"""Fixtures of the Flagsmith provider's end-to-end tests (helpers in ``flagsmith_org``)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.sandboxes import serve

sys.path.insert(0, str(Path(__file__).resolve().parent))

from flagsmith_org import Org

from reconciler.sandbox.flagsmith.server import FlagsmithSandbox


@pytest.fixture(scope="session")
def flagsmith_sandbox() -> Iterator[FlagsmithSandbox]:
    yield from serve(lambda: FlagsmithSandbox(port=0))


@pytest.fixture
def org(
    flagsmith_sandbox: FlagsmithSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Org:
    """The example (copied) against a freshly reset sandbox."""
    return Org(flagsmith_sandbox, tmp_path, monkeypatch)
