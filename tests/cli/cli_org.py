"""CLI test helpers: a memory-provider organisation in a temporary directory (``org``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from typer.testing import CliRunner

from reconciler.cli.app import app

TOKEN = "tok-PLAINTEXT-7f3c9a"

SPEC = """\
version: 1
memory:
  connection: {path: "${env:MEMORY_PATH}"}
  prune: [groups, items]
  groups:
    backend: {description: Backend services}
    frontend: {}
  items:
    api: {group: backend, value: "1", tags: [public], token: "${env:MEMORY_TOKEN}"}
    web: {group: frontend, value: "w"}
"""


@dataclass
class Org:
    """A spec file, the memory live file it manages, and a runner with the right environment."""

    root: Path
    spec: Path
    live: Path
    runner: CliRunner

    def run(self, *args: str, input: str | None = None) -> Result:
        return self.runner.invoke(app, list(args), input=input, catch_exceptions=False)

    def write_spec(self, text: str) -> None:
        self.spec.write_text(text, encoding="utf-8")

    def objects(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.live.read_text("utf-8"))["objects"]
        return data

    def edit(self, address: str, **attributes: Any) -> None:
        """An out-of-band change, as someone editing the system by hand would make."""
        data = json.loads(self.live.read_text("utf-8"))
        data["objects"][address]["attributes"].update(attributes)
        self.live.write_text(json.dumps(data), "utf-8")

    def outputs(self, results: Sequence[Result]) -> str:
        return "\n".join(r.stdout + r.stderr for r in results)


@pytest.fixture
def org(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Org:
    monkeypatch.chdir(tmp_path)
    for name in ("RECONCILER_STATE", "RECONCILER_FINGERPRINT_KEY", "RECONCILER_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("RECONCILER_DEBUG", raising=False)
    live = tmp_path / "live.json"
    env = {"MEMORY_PATH": str(live), "MEMORY_TOKEN": TOKEN, "NO_COLOR": "1"}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    spec = tmp_path / "org" / "spec.yaml"
    spec.parent.mkdir()
    spec.write_text(SPEC, encoding="utf-8")
    return Org(tmp_path, spec, live, CliRunner())
