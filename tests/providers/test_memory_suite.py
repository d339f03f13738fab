"""The provider conformance suite, run for the memory provider.

The memory system is a JSON file: an out-of-band change edits it. It has no network, so the
lost-answer and throttle hooks are unsupported (skipped, with the reason).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import pytest
from provider_suite import OutOfBand, ProviderSuite

from reconciler.address import Address

HEAD = """\
version: 1
memory:
  connection: {path: "${env:MEMORY_PATH}"}
  prune: [groups, items]
"""

SPECS = {
    "initial": HEAD
    + """\
  groups:
    backend: {description: Backend services}
    frontend: {}
  items:
    api: {group: backend, value: "1", tags: [public, v2], token: "${env:MEMORY_TOKEN}"}
    web: {group: frontend}
    cli: {group: backend, value: x}
""",
    "updated": HEAD
    + """\
  groups:
    backend: {description: Backend and API services}
    frontend: {}
  items:
    api: {group: backend, value: "2", tags: [v2], token: "${env:MEMORY_TOKEN}"}
    web: {group: backend}
    cli: {group: backend, value: x}
""",
    "reduced": HEAD
    + """\
  groups:
    backend: {description: Backend and API services}
  items:
    api: {group: backend, value: "2", tags: [v2], token: "${env:MEMORY_TOKEN}"}
""",
}


class TestMemoryProvider(ProviderSuite):
    provider = "memory"

    def environment(self, tmp_path: Path, request: pytest.FixtureRequest) -> dict[str, str]:
        return {"MEMORY_PATH": str(tmp_path / "live.json"), "MEMORY_TOKEN": "tok-suite-91x"}

    def spec(self, variant: str) -> str:
        return SPECS[variant]

    def out_of_band(self, env: Mapping[str, str]) -> OutOfBand:
        """Someone edits item ``api``'s value in the live file (``updated`` changes it too)."""
        path = Path(env["MEMORY_PATH"])
        data = json.loads(path.read_text(encoding="utf-8"))
        api = Address("memory", "item", "api")
        data["objects"][str(api)]["attributes"]["value"] = "edited by hand"
        path.write_text(json.dumps(data), encoding="utf-8")
        return OutOfBand(api)
