"""Fixtures of the Messages provider's end-to-end tests (helpers in ``messages_org``)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.sandboxes import serve

sys.path.insert(0, str(Path(__file__).resolve().parent))

from messages_org import Org

from reconciler.sandbox.messages.server import MessagesSandbox


@pytest.fixture(scope="session")
def messages_sandbox() -> Iterator[MessagesSandbox]:
    yield from serve(lambda: MessagesSandbox(port=0))


@pytest.fixture
def org(messages_sandbox: MessagesSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Org:
    """The example (copied) against a freshly reset sandbox."""
    return Org(messages_sandbox, tmp_path, monkeypatch)
