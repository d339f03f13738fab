"""Session fixtures shared by every end-to-end test: the Phase sandbox on a loopback port.

``phase_sandbox`` is started once per test session and stopped at its end. ``phase`` resets
it to the default organisation before a test and returns a small helper (URL, credentials,
owner-authenticated HTTP client, control calls).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from reconciler.sandbox.server import Sandbox


@pytest.fixture(scope="session")
def phase_sandbox() -> Iterator[Sandbox]:
    sandbox = Sandbox(port=0)
    sandbox.start()
    try:
        yield sandbox
    finally:
        sandbox.stop()


@dataclass
class Phase:
    """A freshly reset sandbox organisation."""

    sandbox: Sandbox
    credentials: dict[str, str]

    @property
    def url(self) -> str:
        return self.sandbox.url

    def owner(self) -> httpx.Client:
        bearer = self.credentials["PHASE_TOKEN"].split(":")[2]
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer User {bearer}"}, timeout=10
        )

    def control(self, method: str, path: str, body: Any = None) -> Any:
        response = httpx.request(method, f"{self.url}/_sandbox/{path}", json=body, timeout=10)
        response.raise_for_status()
        return response.json()


@pytest.fixture
def phase(phase_sandbox: Sandbox) -> Phase:
    credentials = httpx.post(f"{phase_sandbox.url}/_sandbox/reset/", timeout=10).json()
    return Phase(phase_sandbox, credentials)
