"""Phase and Connect in one spec set (examples/phase-connect): one plan, one apply, both
sandboxes converge; drift is graded on both, a Connect field that cannot be applied included;
the HQ key appears nowhere."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from connect_org import ROOT, Org

from reconciler.sandbox.connect.server import ConnectSandbox

EXAMPLE = ROOT / "examples" / "phase-connect"


@pytest.fixture
def both(
    phase: Any,
    connect_sandbox: ConnectSandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[Any, Org]:
    org = Org(connect_sandbox, tmp_path, monkeypatch, example=EXAMPLE)
    for k, v in phase.credentials.items():
        monkeypatch.setenv(k, v)
    return phase, org


def test_phase_and_connect_converge_together(both: tuple[Any, Org]) -> None:
    phase, org = both
    planned = org.plan_json()
    assert {c["address"].split(".", 1)[0] for c in planned["changes"]} == {"phase", "connect"}
    org.converge()
    assert len(org.table("opportunities")) == 1
    phase.control(
        "POST",
        "changes/",
        {"changes": [{"op": "set_app_description", "app": "malaria-field", "description": "x"}]},
    )
    edit = {"op": "set_opportunity", "name": "Kisumu pilot"}
    edit["fields"] = {"total_budget": 30000}  # type: ignore[assignment]
    org.ctl("POST", "changes/", {"changes": [edit]})
    code, found = org.drift()
    assert code == 2
    assert found["phase.app.malaria-field"][:2] == ("changed", "update")
    assert found["connect.opportunity.malaria-2027/kisumu-pilot"][:2] == ("changed", "none")
    applied = org.apply()
    assert applied.exit_code == 0, applied.output
    code, found = org.drift()
    assert code == 2 and "phase.app.malaria-field" not in found  # Phase restored
    assert found["connect.opportunity.malaria-2027/kisumu-pilot"][:2] == ("changed", "none")
    assert org.credentials["CONNECT_HQ_API_KEY"] not in applied.output
