"""No API key or integration secret in any output, log, saved plan, drift report, export or the
state store, including the apply report of a change the server refused."""

from __future__ import annotations

import logging

import pytest
from flagsmith_org import Org


def test_secrets_never_leave_the_process(org: Org, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    org.monkeypatch.setenv("RECONCILER_LOG", "debug")
    outputs = []
    spec = str(org.spec)
    saved = org.tmp / "plan.json"
    for args in (
        ("plan", spec, "--out", str(saved)),
        ("plan", spec, "--format", "json", "--stats"),
        ("apply", "--plan", str(saved)),
        ("plan", spec, "--format", "markdown"),
    ):
        result = org.run(*args)
        assert result.exit_code == 0, result.output
        outputs.append(result.output)
    org.changes(
        {
            "op": "set_integration",
            "project": "web",
            "kind": "datadog",
            "fields": {"api_key": "dd-typo"},
        },
    )
    org.ctl(
        "POST", "ado/", {"organisation_url": "https://dev.azure.com/acme", "pats": ["only-this"]}
    )
    org.setenv("ADO_PAT", "ado-pat-rotated-0002")
    org.setenv("DD_API_KEY", "dd-key-rotated-0002")
    for args in (
        ("drift", spec, "--format", "json"),
        ("drift", spec, "--format", "html", "--out", str(org.tmp / "drift.html")),
        ("apply", spec, "--auto-approve"),  # the ADO change fails: its error is redacted
        ("export", "--provider", "flagsmith", str(org.tmp / "exported.yaml")),
    ):
        outputs.append(org.run(*args).output)
    secrets = [
        org.credentials["FLAGSMITH_API_KEY"],
        org.credentials["FLAGSMITH_API_KEY"].split(".")[1],
        "ado-pat-e2e-0001",
        "glpat-e2e-0001",
        "dd-key-e2e-0001",
        "dd-typo",
        *org.secrets.values(),
    ]
    haystacks = {
        "outputs": "\n".join(outputs),
        "logs": caplog.text,
        "saved plan": saved.read_text(),
        "drift html": (org.tmp / "drift.html").read_text(),
        "export": (org.tmp / "exported.yaml").read_text(),
        "state": (org.tmp / "state.db").read_bytes().decode("latin-1"),
    }
    for where, text in haystacks.items():
        for secret in secrets:
            assert secret not in text, f"a secret leaked into the {where}"
    assert "Azure DevOps rejected the credentials" in haystacks["outputs"]  # real output scanned
    assert org.stored("web", "datadog")["api_key"] == "dd-key-rotated-0002"
