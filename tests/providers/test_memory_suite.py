"""The provider conformance suite, run for the memory provider."""

from __future__ import annotations

from pathlib import Path

from provider_suite import ProviderSuite

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

    def environment(self, tmp_path: Path) -> dict[str, str]:
        return {"MEMORY_PATH": str(tmp_path / "live.json"), "MEMORY_TOKEN": "tok-suite-91x"}

    def spec(self, variant: str) -> str:
        return SPECS[variant]
