"""The Messages example against a freshly reset sandbox, driven through the CLI.

``Org`` copies an example folder (``examples/messages-org`` by default) into a temporary
directory, points the environment at the sandbox (``MESSAGES_URL``, ``MESSAGES_API_KEY``, …) and
a fresh state file, and offers the CLI (``run``), convergence (``converge``), spec edits
(``edit``), drift findings (``drift``), the sandbox's control API (``ctl``, ``changes``) and
its admin API (``admin``).
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
from reconciler.sandbox.messages.server import MessagesSandbox

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "examples" / "messages-org"


class Org:
    def __init__(
        self,
        sandbox: MessagesSandbox,
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
        self.monkeypatch = monkeypatch
        self.spec = tmp / "org"
        shutil.copytree(example, self.spec)
        self.runner = CliRunner()

    def run(self, *args: str) -> Result:
        return self.runner.invoke(app, list(args), catch_exceptions=False)

    def converge(self) -> Result:
        applied = self.run("apply", str(self.spec), "--auto-approve")
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

    def stored(self, name: str) -> dict[str, Any]:
        """A domain as the server stores it (unreadable fields included)."""
        found: dict[str, Any] = next(d for d in self.ctl("GET", "domains/") if d["name"] == name)
        return found

    def admin(self, method: str, path: str, **kw: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.credentials['MESSAGES_ADMIN_TOKEN']}"}
        response = httpx.request(
            method, self.credentials["MESSAGES_URL"] + path, headers=headers, **kw
        )
        response.raise_for_status()
        return response.json() if response.content else None

    def admins(self, domain: str) -> list[str]:
        rows = self.admin("GET", f"maildomains/{self.stored(domain)['id']}/accesses/")
        return sorted(a["user"]["email"] for a in rows)
