"""The access-report tests' helpers and fixtures: an example organisation (copied) against a freshly
reset sandbox, driven through the CLI (``AccessOrg``). The Phase sandbox is the session's
(``tests/conftest.py``); Flagsmith's, Messages' and Connect's are started here and stopped at
the end."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import Result
from typer.testing import CliRunner

from reconciler.cli.app import app
from reconciler.sandbox.connect.server import ConnectSandbox
from reconciler.sandbox.flagsmith.server import FlagsmithSandbox
from reconciler.sandbox.messages.server import MessagesSandbox

ROOT = Path(__file__).resolve().parents[2]
FLAGSMITH_SECRETS = {
    "ADO_PAT": "ado-pat-acc-0001",
    "GITLAB_TOKEN": "glpat-acc-1",
    "DD_API_KEY": "dd-1",
}


class AccessOrg:
    """One example copied into ``tmp/org`` with a fresh state file and the sandbox's
    credentials in the environment."""

    def __init__(
        self, example: str, credentials: dict[str, str], tmp: Path, mp: pytest.MonkeyPatch
    ) -> None:
        mp.chdir(tmp)
        mp.setenv("RECONCILER_STATE", str(tmp / "state.db"))
        mp.setenv("RECONCILER_FINGERPRINT_KEY", "4b" * 32)
        mp.setenv("NO_COLOR", "1")
        for k, v in credentials.items():
            mp.setenv(k, v)
        self.credentials = credentials
        self.tmp = tmp
        self.spec = tmp / "org"
        shutil.copytree(ROOT / "examples" / example, self.spec)

    def run(self, *args: str) -> Result:
        return CliRunner().invoke(app, list(args), catch_exceptions=False)

    def converge(self) -> None:
        applied = self.run("apply", str(self.spec), "--auto-approve")
        assert applied.exit_code == 0, applied.output
        again = self.run("plan", str(self.spec), "--detailed-exitcode")
        assert again.exit_code == 0, again.output

    def report(self, *args: str) -> dict[str, Any]:
        result = self.run("access", str(self.spec), "--format", "json", *args)
        assert result.exit_code == 0, result.output
        data: dict[str, Any] = json.loads(result.stdout)
        return data

    def edit(self, file: str, old: str, new: str) -> None:
        path = self.spec / file
        text = path.read_text()
        assert old in text, f"{old!r} not in {file}"
        path.write_text(text.replace(old, new, 1))


def cells(report: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """The matrix by (principal, resource)."""
    return {(c["principal"], c["resource"]): c for c in report["matrix"]}


@pytest.fixture
def phase_org(phase: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AccessOrg:
    return AccessOrg("phase-org", phase.credentials, tmp_path, monkeypatch)


def _serve(kind: Any) -> Iterator[Any]:
    """A sandbox of ``kind`` on a free port for the session, stopped at its end."""
    sandbox = kind(port=0)
    sandbox.start()
    try:
        yield sandbox
    finally:
        sandbox.stop()


def _reset(sandbox: Any) -> dict[str, str]:
    """Empties the sandbox and returns its fresh credentials."""
    creds: dict[str, str] = httpx.post(f"{sandbox.root}/_sandbox/reset/").json()
    return creds


@pytest.fixture(scope="session")
def flagsmith_sandbox() -> Iterator[FlagsmithSandbox]:
    yield from _serve(FlagsmithSandbox)


@pytest.fixture
def flagsmith_org(
    flagsmith_sandbox: FlagsmithSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AccessOrg:
    creds = _reset(flagsmith_sandbox)
    return AccessOrg("flagsmith-org", {**creds, **FLAGSMITH_SECRETS}, tmp_path, monkeypatch)


@pytest.fixture(scope="session")
def messages_sandbox() -> Iterator[MessagesSandbox]:
    yield from _serve(MessagesSandbox)


@pytest.fixture
def messages_org(
    messages_sandbox: MessagesSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AccessOrg:
    return AccessOrg("messages-org", _reset(messages_sandbox), tmp_path, monkeypatch)


@pytest.fixture(scope="session")
def connect_sandbox() -> Iterator[ConnectSandbox]:
    yield from _serve(ConnectSandbox)


@pytest.fixture
def connect_org(
    connect_sandbox: ConnectSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AccessOrg:
    return AccessOrg("connect-program", _reset(connect_sandbox), tmp_path, monkeypatch)
