"""A Messages sandbox on a loopback port for the module, reset before each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from helpers.sandboxes import fresh, serve
from messages_client import Api

from reconciler.sandbox.messages.server import MessagesSandbox


@pytest.fixture(scope="module")
def sandbox() -> Iterator[MessagesSandbox]:
    yield from serve(lambda: MessagesSandbox(port=0))


@pytest.fixture
def api(sandbox: MessagesSandbox) -> Iterator[Api]:
    yield from fresh(Api(sandbox))
