"""Session fixtures shared by every end-to-end test: the Phase sandbox on a loopback port.

``phase_sandbox`` is started once per test session and stopped at its end. ``phase`` resets
it to the default organisation before a test and returns a small helper (URL, credentials,
HTTP clients for any token, control calls). Nothing here reaches the internet.
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


def bearer(token: str) -> str:
    """``Authorization`` value for a full ``pss_user:v1`` / ``pss_service:v2`` token."""
    kind = "User" if token.startswith("pss_user:") else "ServiceAccount"
    return f"Bearer {kind} {token.split(':')[2]}"


@dataclass
class Phase:
    """A freshly reset sandbox organisation."""

    sandbox: Sandbox
    credentials: dict[str, str]

    @property
    def url(self) -> str:
        return self.sandbox.url

    def client(self, token: str) -> httpx.Client:
        """An HTTP client authenticated with a full ``pss_*`` token."""
        return httpx.Client(base_url=self.url, headers={"Authorization": bearer(token)}, timeout=10)

    def owner(self) -> httpx.Client:
        return self.client(self.credentials["PHASE_TOKEN"])

    def control(self, method: str, path: str, body: Any = None) -> Any:
        response = httpx.request(method, f"{self.url}/_sandbox/{path}", json=body, timeout=10)
        response.raise_for_status()
        return response.json()

    def pat(self, member: str) -> str:
        """A PAT for a member (id or email), made as the member would in the console."""
        return str(self.control("POST", f"members/{member}/tokens/")["token"])


@pytest.fixture
def phase(phase_sandbox: Sandbox) -> Phase:
    credentials = httpx.post(f"{phase_sandbox.url}/_sandbox/reset/", timeout=10).json()
    return Phase(phase_sandbox, credentials)
