"""A Flagsmith sandbox on a loopback port for the module, reset before each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flagsmith_client import Api

from reconciler.sandbox.flagsmith.server import FlagsmithSandbox


@pytest.fixture(scope="module")
def sandbox() -> Iterator[FlagsmithSandbox]:
    server = FlagsmithSandbox(port=0)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def api(sandbox: FlagsmithSandbox) -> Iterator[Api]:
    client = Api(sandbox)
    client.reset()
    try:
        yield client
    finally:
        client.http.close()
