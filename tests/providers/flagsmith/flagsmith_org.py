"""The Flagsmith example against a freshly reset sandbox, driven through the CLI.

``Org`` copies an example folder (``examples/flagsmith-org`` by default) into a temporary
directory, points the environment at the sandbox and a fresh state file, sets the integration
secrets (``SECRETS``), and offers the CLI (``run``), convergence (``converge``), spec edits
(``edit``), drift findings (``drift``), the control API (``ctl``, ``changes``, ``stored``) and
the API itself (``api``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from helpers.example_org import ROOT, ExampleOrg

from reconciler.sandbox.host import AppServer

EXAMPLE = ROOT / "examples" / "flagsmith-org"
SECRETS = {
    "ADO_PAT": "ado-pat-e2e-0001",
    "GITLAB_TOKEN": "glpat-e2e-0001",
    "DD_API_KEY": "dd-key-e2e-0001",
}


class Org(ExampleOrg):
    EXAMPLE = EXAMPLE

    def __init__(
        self,
        sandbox: AppServer,
        tmp: Path,
        monkeypatch: pytest.MonkeyPatch,
        example: Path | None = None,
    ) -> None:
        self.secrets = dict(SECRETS)  # set with the credentials (``environment``)
        monkeypatch.setenv("RECONCILER_FINGERPRINT_KEY", "3a" * 32)
        super().__init__(sandbox, tmp, monkeypatch, example)

    def environment(self) -> dict[str, str]:
        return {**self.credentials, **self.secrets}

    def setenv(self, name: str, value: str) -> None:
        self.secrets[name] = value
        self.monkeypatch.setenv(name, value)

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
