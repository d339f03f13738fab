"""No API key or integration secret in any output, log, saved plan, drift report, export or the
state store, including the apply report of a change the server refused."""

from __future__ import annotations

import logging

import pytest
from flagsmith_org import Org
from helpers.leaks import first_runs, scan, second_runs


def test_secrets_never_leave_the_process(org: Org, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    outputs, saved = first_runs(org)
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
    outputs += second_runs(org, "flagsmith")  # the ADO change fails: its error is redacted
    secrets = [
        org.credentials["FLAGSMITH_API_KEY"],
        org.credentials["FLAGSMITH_API_KEY"].split(".")[1],
        "ado-pat-e2e-0001",
        "glpat-e2e-0001",
        "dd-key-e2e-0001",
        "dd-typo",
        *org.secrets.values(),
    ]
    haystacks = scan(org, outputs, caplog.text, saved, secrets)
    assert "Azure DevOps rejected the credentials" in haystacks["outputs"]  # real output scanned
    assert org.stored("web", "datadog")["api_key"] == "dd-key-rotated-0002"
