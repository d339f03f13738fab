"""The Flagsmith example against a freshly reset sandbox, driven through the CLI.

``Org`` copies an example folder (``examples/flagsmith-org`` by default) into a temporary
directory, points the environment at the sandbox and a fresh state file, sets the integration
secrets (``SECRETS``), and offers the CLI (``run``), convergence (``converge``), spec edits
(``edit``), drift findings (``drift``), the control API (``ctl``, ``changes``, ``stored``) and
the API itself (``api``).
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
from reconciler.sandbox.flagsmith.server import FlagsmithSandbox

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "examples" / "flagsmith-org"
SECRETS = {
    "ADO_PAT": "ado-pat-e2e-0001",
    "GITLAB_TOKEN": "glpat-e2e-0001",
    "DD_API_KEY": "dd-key-e2e-0001",
}


class Org:
    def __init__(
        self,
        sandbox: FlagsmithSandbox,
        tmp: Path,
        monkeypatch: pytest.MonkeyPatch,
        example: Path = EXAMPLE,
    ) -> None:
        self.sandbox = sandbox
        self.tmp = tmp
        monkeypatch.chdir(tmp)
        monkeypatch.setenv("RECONCILER_STATE", str(tmp / "state.db"))
        monkeypatch.setenv("RECONCILER_FINGERPRINT_KEY", "3a" * 32)
        monkeypatch.setenv("NO_COLOR", "1")
        self.credentials: dict[str, str] = httpx.post(f"{sandbox.root}/_sandbox/reset/").json()
        self.secrets = dict(SECRETS)
        for k, v in {**self.credentials, **self.secrets}.items():
            monkeypatch.setenv(k, v)
        self.monkeypatch = monkeypatch
        self.spec = tmp / "org"
        shutil.copytree(example, self.spec)
        self.runner = CliRunner()

    def setenv(self, name: str, value: str) -> None:
        self.secrets[name] = value
        self.monkeypatch.setenv(name, value)

    def run(self, *args: str) -> Result:
        return self.runner.invoke(app, list(args), catch_exceptions=False)

    def converge(self, *extra: str) -> Result:
        applied = self.run("apply", str(self.spec), "--auto-approve", *extra)
        assert applied.exit_code == 0, applied.output
        again = self.run("plan", str(self.spec), "--detailed-exitcode")
        assert again.exit_code == 0, again.output
        return applied

    def plan_json(self) -> dict[str, Any]:
        result = self.run("plan", str(self.spec), "--format", "json")
        assert result.exit_code == 0, result.output
        plan: dict[str, Any] = json.loads(result.stdout)
        return plan

    def drift(self) -> dict[str, tuple[str, str, list[str]]]:
        result = self.run("drift", str(self.spec), "--format", "json")
        assert result.exit_code in (0, 2), result.output
        report = json.loads(result.stdout)
        return {f["address"]: (f["grade"], f["action"], f["details"]) for f in report["findings"]}

    def edit(self, file: str, old: str, new: str) -> None:
        """Replace ``old`` (which must be there) by ``new`` in a spec file."""
        path = self.spec / file
        text = path.read_text()
        assert old in text, f"{old!r} not in {file}"
        path.write_text(text.replace(old, new, 1))

    def ctl(self, method: str, path: str, body: Any = None) -> Any:
        response = httpx.request(method, f"{self.sandbox.root}/_sandbox/{path}", json=body)
        response.raise_for_status()
        return response.json()

    def changes(self, *ops: dict[str, Any]) -> None:
        self.ctl("POST", "changes/", {"changes": list(ops)})

    def accept(self, *emails: str) -> None:
        for email in emails:
            self.ctl("POST", "invites/accept/", {"email": email})

    def table(self, name: str) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = list(self.ctl("GET", "state/")[name].values())
        return rows

    def stored(self, project: str, kind: str) -> dict[str, Any]:
        """An integration row as the server stores it (secret included), live or deleted."""
        pid = next(p["id"] for p in self.table("projects") if p["name"] == project)
        return next(
            r for r in self.table("integrations") if r["project"] == pid and r["kind"] == kind
        )

    def api(self, method: str, path: str, **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Api-Key {self.credentials['FLAGSMITH_API_KEY']}"}
        return httpx.request(
            method, self.credentials["FLAGSMITH_URL"] + path, headers=headers, **kw
        )
