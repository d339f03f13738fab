"""The provider conformance suite, run for Phase against the sandbox over HTTP.

Each test resets the session's sandbox (``phase_sandbox``) to its default organisation. The
variants manage their own role, app, service account and team, and prune only roles,
environments, service accounts and teams, so the seeded apps and members are left alone.
Faults and out-of-band changes go through the sandbox's control API (``/_sandbox/``); every
hook is supported (``strict``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest
from provider_suite import OutOfBand, ProviderSuite

from reconciler.address import Address

HEAD = """\
version: 1
phase:
  connection:
    url: ${env:PHASE_URL}
    token: ${env:PHASE_TOKEN}
  prune: [roles, environments, service_accounts, teams]
"""

SPECS = {
    "initial": HEAD
    + """\
  roles:
    Suite Auditor:
      description: Reads apps
      permissions: {Apps: [read]}
  apps:
    suite-api:
      description: Suite API
      environments: [Development, Staging, Production]
  service_accounts:
    suite-bot: {role: Service, access: {suite-api: [Production]}}
  teams:
    suite-team: {description: Suite engineers}
""",
    "updated": HEAD
    + """\
  roles:
    Suite Auditor:
      description: Reads apps and members
      permissions: {Apps: [read], Members: [read]}
  apps:
    suite-api:
      description: Suite API, version 2
      environments: [Development, Staging, Production]
  service_accounts:
    suite-bot: {role: Service, access: {suite-api: [Staging, Production]}}
  teams:
    suite-team: {description: Suite engineers}
""",
    "reduced": HEAD
    + """\
  apps:
    suite-api:
      description: Suite API, version 2
      environments: [Development, Production]
""",
}

APP = Address("phase", "app", "suite-api")


def _bearer(token: str) -> str:
    kind = "User" if token.startswith("pss_user:") else "ServiceAccount"
    return f"Bearer {kind} {token.split(':')[2]}"


class TestPhaseProvider(ProviderSuite):
    provider = "phase"
    strict = True

    def environment(self, tmp_path: Path, request: pytest.FixtureRequest) -> dict[str, str]:
        sandbox = request.getfixturevalue("phase_sandbox")
        credentials: dict[str, str] = httpx.post(
            f"{sandbox.url}/_sandbox/reset/", timeout=10
        ).json()
        return {"PHASE_URL": credentials["PHASE_URL"], "PHASE_TOKEN": credentials["PHASE_TOKEN"]}

    def spec(self, variant: str) -> str:
        return SPECS[variant]

    def _control(self, env: Mapping[str, str], method: str, path: str, body: Any = None) -> Any:
        url = f"{env['PHASE_URL']}/_sandbox/{path}"
        response = httpx.request(method, url, json=body, timeout=10)
        response.raise_for_status()
        return response.json()

    def out_of_band(self, env: Mapping[str, str]) -> OutOfBand:
        """The app's description is edited in the console (``updated`` changes it too)."""
        change = {"op": "set_app_description", "app": APP.name, "description": "by hand"}
        self._control(env, "POST", "changes/", {"changes": [change]})
        return OutOfBand(APP)

    def lose_create_answer(self, env: Mapping[str, str]) -> Address:
        self._control(env, "POST", "faults/", {"lost": 1, "only": "POST /v1/apps/"})
        return APP

    def live_count(self, env: Mapping[str, str], address: Address) -> int:
        assert address.kind == "app"
        headers = {"Authorization": _bearer(env["PHASE_TOKEN"])}
        response = httpx.get(f"{env['PHASE_URL']}/v1/apps/", headers=headers, timeout=10)
        response.raise_for_status()
        return sum(1 for app in response.json()["data"] if app["name"] == address.name)

    def throttle(self, env: Mapping[str, str], retry_after: int) -> bool:
        self._control(env, "POST", "faults/", {"throttle": 2, "retry_after": retry_after})
        return True

    def clear_faults(self, env: Mapping[str, str]) -> None:
        self._control(env, "DELETE", "faults/")
