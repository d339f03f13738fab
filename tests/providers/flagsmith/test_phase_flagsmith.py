"""Phase and Flagsmith in one spec set (examples/phase-flagsmith): one plan, one apply, both
sandboxes converge; drift is graded on both; each provider's export plans empty."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flagsmith_org import ROOT, Org

from reconciler.sandbox.flagsmith.server import FlagsmithSandbox

EXAMPLE = ROOT / "examples" / "phase-flagsmith"


class Both(Org):
    """The Flagsmith helper, with the Phase sandbox's credentials exported too."""

    def __init__(
        self, phase: Any, sandbox: FlagsmithSandbox, tmp: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        super().__init__(sandbox, tmp, monkeypatch, example=EXAMPLE)
        self.phase = phase
        for k, v in phase.credentials.items():
            monkeypatch.setenv(k, v)


@pytest.fixture
def both(
    phase: Any, flagsmith_sandbox: FlagsmithSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Both:
    return Both(phase, flagsmith_sandbox, tmp_path, monkeypatch)


def test_phase_and_flagsmith_converge_together(both: Both) -> None:
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
