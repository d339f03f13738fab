"""Phase and Flagsmith in one spec set (examples/phase-flagsmith): one plan, one apply, both
sandboxes converge; drift is graded on both; each provider's export plans empty."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flagsmith_org import ROOT, Org

from reconciler.sandbox.flagsmith.server import FlagsmithSandbox

EXAMPLE = ROOT / "examples" / "phase-flagsmith"


@pytest.fixture
def both(
    phase: Any, flagsmith_sandbox: FlagsmithSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Org:
    return Org(flagsmith_sandbox, tmp_path, monkeypatch, example=EXAMPLE).with_phase(phase)


def test_phase_and_flagsmith_converge_together(both: Org) -> None:
    planned = both.plan_json()
    providers = {c["address"].split(".", 1)[0] for c in planned["changes"]}
    assert providers == {"phase", "flagsmith"}
    both.converge()
    both.phase.control(
        "POST",
        "changes/",
        {"changes": [{"op": "set_app_description", "app": "web", "description": "x"}]},
    )
    both.changes(
        {
            "op": "set_integration",
            "project": "web",
            "kind": "gitlab",
            "fields": {"labeling_enabled": False},
        }
    )
    found = both.drift()
    assert found["phase.app.web"][:2] == ("changed", "update")
    assert found["flagsmith.integration.web/gitlab"][:2] == ("changed", "update")
    both.converge()
    both.setenv("FLAGSMITH_WEB_GITLAB_ACCESS_TOKEN", both.secrets["GITLAB_TOKEN"])
    both.setenv("FLAGSMITH_WEB_DATADOG_API_KEY", both.secrets["DD_API_KEY"])
    for provider in ("phase", "flagsmith"):
        out = both.tmp / f"{provider}-export.yaml"
        assert both.run("export", "--provider", provider, str(out)).exit_code == 0
        replan = both.run("plan", str(out), "--detailed-exitcode")
        assert replan.exit_code == 0, replan.output
