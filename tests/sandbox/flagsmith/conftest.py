"""A Flagsmith sandbox on a loopback port for the module, reset before each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flagsmith_client import Api
from helpers.sandboxes import fresh, serve

from reconciler.sandbox.flagsmith.server import FlagsmithSandbox


@pytest.fixture(scope="module")
def sandbox() -> Iterator[FlagsmithSandbox]:
    yield from serve(lambda: FlagsmithSandbox(port=0))


@pytest.fixture
def api(sandbox: FlagsmithSandbox) -> Iterator[Api]:
    yield from fresh(Api(sandbox))
