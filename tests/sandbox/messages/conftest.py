"""A Messages sandbox on a loopback port for the module, reset before each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from messages_client import Api

from reconciler.sandbox.messages.server import MessagesSandbox


@pytest.fixture(scope="module")
def sandbox() -> Iterator[MessagesSandbox]:
    server = MessagesSandbox(port=0)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def api(sandbox: MessagesSandbox) -> Iterator[Api]:
    client = Api(sandbox)
    client.reset()
    try:
        yield client
    finally:
        client.http.close()
