"""The provider conformance suite, run for Flagsmith against its sandbox over HTTP.

One sandbox for the module, reset before each test. The variants manage a group, a project
with environments, a GitLab integration (write-only token) and a Datadog one (clear-text key);
they prune environments and integrations. Every hook is supported (``strict``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
from helpers.sandbox_suite import SandboxHooks
from helpers.sandboxes import serve
from provider_suite import OutOfBand, ProviderSuite

from reconciler.address import Address
from reconciler.sandbox.flagsmith.server import FlagsmithSandbox

HEAD = """\
version: 1
flagsmith:
  connection:
    url: ${env:FLAGSMITH_URL}
    api_key: ${env:FLAGSMITH_API_KEY}
  organisation: Acme
  prune: [environments, integrations]
  groups:
    backend: {}
  projects:
    web:
"""

SPECS = {
    "initial": HEAD
    + """\
      environments: [Development]
      integrations:
        gitlab:
          gitlab_instance_url: https://gitlab.com
          access_token: ${env:GITLAB_TOKEN}
          labeling_enabled: false
""",
    "updated": HEAD
    + """\
      environments: [Development, Production]
      integrations:
        gitlab:
          gitlab_instance_url: https://gitlab.com
          access_token: ${env:GITLAB_TOKEN_2}
          labeling_enabled: true
        datadog:
          base_url: https://api.datadoghq.eu
          api_key: ${env:DD_API_KEY}
""",
    "reduced": HEAD
    + """\
      environments: [Development]
      integrations:
        gitlab:
          gitlab_instance_url: https://gitlab.com
          access_token: ${env:GITLAB_TOKEN_2}
          labeling_enabled: true
""",
}

GITLAB = Address("flagsmith", "integration", "web/gitlab")
WEB = Address("flagsmith", "project", "web")


@pytest.fixture(scope="module")
def flagsmith_sandbox() -> Iterator[FlagsmithSandbox]:
    yield from serve(lambda: FlagsmithSandbox(port=0))


class TestFlagsmithProvider(SandboxHooks, ProviderSuite):
    sandbox_fixture = "flagsmith_sandbox"
    variant_specs = SPECS
    provider = "flagsmith"
    strict = True

    def environment(self, tmp_path: Path, request: pytest.FixtureRequest) -> dict[str, str]:
        reset = self.reset_sandbox(request)
        secrets = {
            "GITLAB_TOKEN": "glpat-suite-1",
            "GITLAB_TOKEN_2": "glpat-suite-2",
            "DD_API_KEY": "dd-suite-1",
        }
        # what an exported spec refers to (plugin.variable)
        exported = {
            "FLAGSMITH_WEB_GITLAB_ACCESS_TOKEN": secrets["GITLAB_TOKEN"],
            "FLAGSMITH_WEB_DATADOG_API_KEY": secrets["DD_API_KEY"],
        }
        return {**reset, **secrets, **exported}

    def out_of_band(self, env: Mapping[str, str]) -> OutOfBand:
        """Labeling is switched on in the dashboard (``updated`` switches it on too)."""
        change = {"op": "set_integration", "project": "web", "kind": "gitlab"}
        self._control(
            env, "POST", "changes/", {"changes": [change | {"fields": {"labeling_enabled": True}}]}
        )
        return OutOfBand(GITLAB)

    def lose_create_answer(self, env: Mapping[str, str]) -> Address:
        self._control(env, "POST", "faults/", {"lost": 1, "only": "POST /projects/"})
        return WEB

    def live_count(self, env: Mapping[str, str], address: Address) -> int:
        projects = self._control(env, "GET", "state/")["projects"].values()
        return sum(1 for p in projects if p["name"] == address.name)
