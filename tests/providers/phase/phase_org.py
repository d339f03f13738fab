"""The example organisation against a freshly reset sandbox, driven through the CLI.

``Org`` (the ``org`` fixture of this folder's conftest) copies ``examples/phase-org`` into a
temporary directory, points the environment at the sandbox (``PHASE_URL``, ``PHASE_TOKEN``, …)
and a fresh state file, and offers the CLI (``run``), convergence (``converge``), spec edits
(``edit``) and the drift grades (``drift``). ``ids`` lists a live collection by name or e-mail.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from typer.testing import CliRunner

from reconciler.cli.app import app

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "examples" / "phase-org"


class Org:
    def __init__(self, phase: Any, tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.phase = phase
        self.tmp = tmp
        monkeypatch.chdir(tmp)
        monkeypatch.setenv("RECONCILER_STATE", str(tmp / "state.db"))
        monkeypatch.setenv("NO_COLOR", "1")
        for k, v in phase.credentials.items():
            monkeypatch.setenv(k, v)
        self.monkeypatch = monkeypatch
        self.spec = tmp / "org"
        shutil.copytree(EXAMPLE, self.spec)
        self.runner = CliRunner()

    def run(self, *args: str) -> Result:
        return self.runner.invoke(app, list(args), catch_exceptions=False)

    def converge(self) -> None:
        applied = self.run("apply", str(self.spec), "--auto-approve")
        assert applied.exit_code == 0, applied.output
        again = self.run("plan", str(self.spec), "--detailed-exitcode")
        assert again.exit_code == 0, again.output

    def drift(self) -> dict[str, tuple[str, str]]:
        result = self.run("drift", str(self.spec), "--format", "json")
        report = json.loads(result.stdout)
        return {f["address"]: (f["grade"], f["action"]) for f in report["findings"]}

    def without_console(self) -> None:
        """The example without the console login, so without what needs it: its E2EE grants
        and the E2EE app's extra environment (the token-only mode, where E2EE is guarded)."""
        self.edit("phase.yaml", "    email: ${env:PHASE_EMAIL}\n", "")
        self.edit("phase.yaml", "    password: ${env:PHASE_PASSWORD}\n", "")
        self.edit("phase.yaml", "        - Audit\n", "")
        self.edit("people.yaml", "        vault: [Production]\n", "")
        self.edit("people.yaml", "        vault: [Development, Audit]\n", "")

    def edit(self, file: str, old: str, new: str) -> None:
        """Replace ``old`` (which must be there) by ``new`` in a spec file."""
        path = self.spec / file
        text = path.read_text()
        assert old in text, f"{old!r} not in {file}"
        path.write_text(text.replace(old, new, 1))


def ids(client: Any, path: str) -> dict[str, str]:
    data = client.get(path).json()["data"]
    return {(d.get("name") or d.get("email")): d["id"] for d in data}


def stored_tokens(org: Org) -> list[str]:
    """Values of the example's ``CI_DEPLOYER_TOKEN`` secret (legacy-api/Production), where
    apply stores ci-deployer's token."""
    with org.phase.owner() as owner:
        apps = ids(owner, "/v1/apps/")
        secrets = owner.get(
            "/v1/secrets/", params={"app_id": apps["legacy-api"], "env": "Production"}
        ).json()
    return [s["value"] for s in secrets if s["key"] == "CI_DEPLOYER_TOKEN"]
