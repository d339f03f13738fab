"""The Connect example against a freshly reset sandbox, driven through the CLI.

``Org`` copies an example folder (``examples/connect-program`` by default) into a temporary
directory, points the environment at the sandbox (``CONNECT_URL``, ``CONNECT_TOKEN``, …) and a
fresh state file, and offers the CLI (``run``), convergence (``converge``), spec edits
(``edit``), drift findings (``drift``) and the sandbox's control API (``ctl``).
"""

from __future__ import annotations

from typing import Any

from helpers.example_org import ROOT, ExampleOrg

EXAMPLE = ROOT / "examples" / "connect-program"


class Org(ExampleOrg):
    EXAMPLE = EXAMPLE

    def drift(self) -> tuple[int, dict[str, tuple[str, str, list[str]]]]:  # type: ignore[override]
        return self.drift_run()

    def edit(self, old: str, new: str, file: str = "connect.yaml") -> None:
        super().edit(file, old, new)

    def table(self, name: str) -> list[dict[str, Any]]:
        rows: dict[str, dict[str, Any]] = self.ctl("GET", "state/")[name]
        return sorted(rows.values(), key=lambda r: int(r["id"]))
