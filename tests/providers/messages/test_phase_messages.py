"""Phase and Messages in one spec set (examples/phase-messages): one plan, one apply, both
sandboxes converge; drift is graded on both; each provider's export plans empty."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from messages_org import ROOT, Org

from reconciler.sandbox.messages.server import MessagesSandbox

EXAMPLE = ROOT / "examples" / "phase-messages"


@pytest.fixture
def both(
    phase: Any, messages_sandbox: MessagesSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Org:
    return Org(messages_sandbox, tmp_path, monkeypatch, example=EXAMPLE).with_phase(phase)


def test_phase_and_messages_converge_together(both: Org) -> None:
    planned = both.plan_json()
    providers = {c["address"].split(".", 1)[0] for c in planned["changes"]}
    assert providers == {"phase", "messages"}
    both.converge()
    assert both.admins("acme.fr") == ["owner@acme.test"]
    both.phase.control(
        "POST",
        "changes/",
        {"changes": [{"op": "set_app_description", "app": "mail-relay", "description": "x"}]},
    )
    both.changes(
        {"op": "rename_mailbox", "domain": "acme.fr", "local_part": "noreply", "name": "Y"}
    )
    found = both.drift()
    assert found["phase.app.mail-relay"][:2] == ("changed", "update")
    assert found["messages.mailbox.noreply@acme.fr"][:2] == ("changed", "update")
    both.converge()
    for provider in ("phase", "messages"):
        out = both.tmp / f"{provider}-export.yaml"
        assert both.run("export", "--provider", provider, str(out)).exit_code == 0
        replan = both.run("plan", str(out), "--detailed-exitcode")
        assert replan.exit_code == 0, replan.output
