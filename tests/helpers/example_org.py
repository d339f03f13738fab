"""``ExampleOrg``: an example spec folder against a freshly reset sandbox, driven through the CLI.

It copies the example folder (``EXAMPLE`` of the subclass unless given) into a temporary
directory, resets the sandbox and points the environment at it (its credentials, or what
``environment()`` returns) and at a fresh state file, and offers the CLI (``run``, ``apply``),
convergence (``converge``), the plan as JSON (``plan_json``), drift findings (``drift``), spec
edits (``edit``), the sandbox's control API (``ctl``, ``changes``) and the Phase sandbox's
credentials besides (``with_phase``).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, ClassVar, Self

import httpx
import pytest
from click.testing import Result
from typer.testing import CliRunner

from reconciler.cli.app import app
from reconciler.sandbox.host import AppServer

ROOT = Path(__file__).resolve().parents[2]


class ExampleOrg:
    EXAMPLE: ClassVar[Path]

    def __init__(
        self,
        sandbox: AppServer,
        tmp: Path,
        monkeypatch: pytest.MonkeyPatch,
        example: Path | None = None,
    ) -> None:
        self.sandbox = sandbox
        self.tmp = tmp
        self.monkeypatch = monkeypatch
        monkeypatch.chdir(tmp)
        monkeypatch.setenv("RECONCILER_STATE", str(tmp / "state.db"))
        monkeypatch.setenv("NO_COLOR", "1")
        self.credentials: dict[str, str] = httpx.post(f"{sandbox.root}/_sandbox/reset/").json()
        for k, v in self.environment().items():
            monkeypatch.setenv(k, v)
        self.spec = tmp / "org"
        shutil.copytree(example or self.EXAMPLE, self.spec)
        self.runner = CliRunner()

    def with_phase(self, phase: Any) -> Self:
        """Also export the Phase sandbox's credentials (``phase``: the root conftest's helper,
        kept as ``self.phase``), for spec sets that manage Phase too."""
        self.phase = phase
        for k, v in phase.credentials.items():
            self.monkeypatch.setenv(k, v)
        return self

    def environment(self) -> dict[str, str]:
        """The variables set for the CLI: the sandbox's credentials."""
        return dict(self.credentials)

    def run(self, *args: str) -> Result:
        return self.runner.invoke(app, list(args), catch_exceptions=False)

    def apply(self, *extra: str) -> Result:
        return self.run("apply", str(self.spec), "--auto-approve", *extra)

    def converge(self, *extra: str) -> Result:
        """Apply (it must succeed), then plan: the plan must be empty."""
        applied = self.apply(*extra)
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
        """Drift findings by address: (grade, action, details)."""
        return self.drift_run()[1]

    def drift_run(self) -> tuple[int, dict[str, tuple[str, str, list[str]]]]:
        """The drift command's exit code and its findings by address."""
        result = self.run("drift", str(self.spec), "--format", "json")
        assert result.exit_code in (0, 2), result.output
        report = json.loads(result.stdout)
        found = {f["address"]: (f["grade"], f["action"], f["details"]) for f in report["findings"]}
        return result.exit_code, found

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
