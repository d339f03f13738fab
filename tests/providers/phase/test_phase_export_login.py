"""Export of an organisation with end-to-end encrypted apps (the sandbox's ``vault``): with the
console login set, the written spec holds ``email``/``password`` references and the grants on
the E2EE app, and planning it gives no changes; without it, a comment says how to add them."""

from __future__ import annotations

import pytest
from phase_org import Org
from ruamel.yaml import YAML


def exported(org: Org) -> tuple[str, dict]:  # type: ignore[type-arg]
    out = org.tmp / "exported" / "phase.yaml"
    result = org.run("export", "--provider", "phase", str(out))
    assert result.exit_code == 0, result.output
    text = out.read_text()
    return text, YAML(typ="safe").load(text)


def test_export_writes_the_console_login_and_the_e2ee_grants(org: Org) -> None:
    org.converge()  # dana holds vault Development and Audit, ci-deployer vault Production
    text, spec = exported(org)
    assert spec["phase"]["connection"] == {
        "url": "${env:PHASE_URL}",
        "token": "${env:PHASE_TOKEN}",
        "email": "${env:PHASE_EMAIL}",
        "password": "${env:PHASE_PASSWORD}",
    }
    assert org.phase.credentials["PHASE_PASSWORD"] not in text
    assert spec["phase"]["apps"]["vault"]["sse"] is False
    dana = spec["phase"]["members"]["dana@acme.test"]["access"]
    assert sorted(dana["vault"]) == ["Audit", "Development"]
    # planned with the same environment (login set): nothing to change, grants kept
    planned = org.run("plan", str(org.tmp / "exported"), "--detailed-exitcode")
    assert planned.exit_code == 0, planned.output


def test_without_the_login_the_export_says_how_to_add_it(
    org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PHASE_EMAIL")
    monkeypatch.delenv("PHASE_PASSWORD")
    text, spec = exported(org)
    assert set(spec["phase"]["connection"]) == {"url", "token"}
    assert "end-to-end encrypted apps (vault)" in text and "PHASE_EMAIL" in text
    assert "${env:PHASE_EMAIL}" not in text
    planned = org.run("plan", str(org.tmp / "exported"), "--detailed-exitcode")
    assert planned.exit_code == 0, planned.output


def test_an_organisation_without_e2ee_apps_gets_no_login(org: Org) -> None:
    # deleted in the console (REST cannot delete an E2EE app)
    org.phase.control("POST", "changes/", {"changes": [{"op": "delete_app", "app": "vault"}]})
    text, spec = exported(org)
    assert set(spec["phase"]["connection"]) == {"url", "token"}
    assert "encrypted" not in text
