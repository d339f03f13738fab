"""The Connect example against a freshly reset sandbox, driven through the CLI.

``Org`` copies an example folder (``examples/connect-program`` by default) into a temporary
directory, points the environment at the sandbox (``CONNECT_URL``, ``CONNECT_TOKEN``, …) and a
fresh state file, and offers the CLI (``run``), convergence (``converge``), spec edits
(``edit``), drift findings (``drift``) and the sandbox's control API (``ctl``).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import Result
from typer.testing import CliRunner

from reconciler.cli.app import app
from reconciler.sandbox.connect.server import ConnectSandbox

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "examples" / "connect-program"


class Org:
    def __init__(
        self,
        sandbox: ConnectSandbox,
        tmp: Path,
        monkeypatch: pytest.MonkeyPatch,
        example: Path = EXAMPLE,
    ) -> None:
        self.sandbox = sandbox
        self.tmp = tmp
        monkeypatch.chdir(tmp)
        monkeypatch.setenv("RECONCILER_STATE", str(tmp / "state.db"))
        monkeypatch.setenv("NO_COLOR", "1")
        self.credentials: dict[str, str] = httpx.post(f"{sandbox.root}/_sandbox/reset/").json()
        for k, v in self.credentials.items():
            monkeypatch.setenv(k, v)
        self.spec = tmp / "org"
        shutil.copytree(example, self.spec)
        self.runner = CliRunner()

    def run(self, *args: str) -> Result:
        return self.runner.invoke(app, list(args), catch_exceptions=False)

    def apply(self) -> Result:
        return self.run("apply", str(self.spec), "--auto-approve")

    def converge(self) -> Result:
        applied = self.apply()
        assert applied.exit_code == 0, applied.output
        again = self.run("plan", str(self.spec), "--detailed-exitcode")
        assert again.exit_code == 0, again.output
        return applied

    def plan_json(self) -> dict[str, Any]:
        result = self.run("plan", str(self.spec), "--format", "json")
        assert result.exit_code == 0, result.output
        plan: dict[str, Any] = json.loads(result.stdout)
        return plan

    def drift(self) -> tuple[int, dict[str, tuple[str, str, list[str]]]]:
        result = self.run("drift", str(self.spec), "--format", "json")
        assert result.exit_code in (0, 2), result.output
        report = json.loads(result.stdout)
        found = {f["address"]: (f["grade"], f["action"], f["details"]) for f in report["findings"]}
        return result.exit_code, found

    def edit(self, old: str, new: str, file: str = "connect.yaml") -> None:
        path = self.spec / file
        text = path.read_text()
        assert old in text, f"{old!r} not in {file}"
        path.write_text(text.replace(old, new, 1))

    def ctl(self, method: str, path: str, body: Any = None) -> Any:
        response = httpx.request(method, f"{self.sandbox.root}/_sandbox/{path}", json=body)
        response.raise_for_status()
        return response.json()

    def table(self, name: str) -> list[dict[str, Any]]:
        rows: dict[str, dict[str, Any]] = self.ctl("GET", "state/")[name]
        return sorted(rows.values(), key=lambda r: int(r["id"]))
