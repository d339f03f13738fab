"""Faults and failures against the Connect sandbox: lost create answers and 429s create nothing
twice; HQ refusals, an expired token and invalid specs are clear errors; the HQ API key never
appears in any output, log or the state store."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from connect_org import Org

PROGRAM = "connect.program.malaria-2027"


def _arm(org: Org, **fault: object) -> None:
    org.ctl("POST", "faults/", dict(fault))


def test_lost_program_answer_adopts_it_and_asks_for_its_uuid(org: Org) -> None:
    _arm(org, lost=1, only="POST /api/programs/")
    first = org.apply()
    assert first.exit_code == 1
    assert len(org.table("programs")) == 1  # adopted through the export, not created twice
    assert "UUID is unknown" in first.output and "pin it with id:" in first.output
    uuid = org.table("programs")[0]["program_id"]
    org.edit("      name: Malaria 2027\n", f"      name: Malaria 2027\n      id: {uuid}\n")
    org.converge()
    assert len(org.table("programs")) == 1 and len(org.table("opportunities")) == 1


def test_lost_answers_of_opportunity_and_payment_unit_create_nothing_twice(org: Org) -> None:
    _arm(org, lost=1, only="POST /api/programs/{program}/opportunities/")
    org.converge()
    org.ctl("DELETE", "faults/")
    assert len(org.table("opportunities")) == 1
    org.edit(
        "          active: true",
        "            follow-up:\n"
        "              {amount: 2, org_amount: 0, max_total: 50, max_daily: 2,"
        " required_deliver_units: [followup-form]}\n          active: true",
    )
    _arm(org, lost=1, only="POST /api/opportunities/{opportunity}/payment_units/")
    applied = org.converge()
    assert "answer was lost" in applied.output
    assert sorted(u["name"] for u in org.table("payment_units")) == [
        "follow-up",
        "household-visit",
    ]


def test_429_is_waited_out_and_nothing_is_created_twice(org: Org) -> None:
    _arm(org, throttle=2, retry_after=1)
    org.converge()
    assert len(org.table("programs")) == 1 and len(org.table("payment_units")) == 1


def test_hq_refusals_name_the_cause(org: Org) -> None:
    org.edit(
        "learn_app:\n            hq_server_url: https://www.commcarehq.org",
        "learn_app:\n            hq_server_url: https://www.commcarehq.org/",
    )
    failed = org.apply()
    assert failed.exit_code == 1
    assert "hq_server_url must equal the server's stored HQ URL exactly" in failed.output
    org.edit(
        "hq_server_url: https://www.commcarehq.org/", "hq_server_url: https://www.commcarehq.org"
    )
    org.ctl("POST", "hq/", {"down": True})
    down = org.apply()
    assert "HTTP 502" in down.output
    org.ctl("POST", "hq/", {"down": False})
    org.converge()


def test_expired_token_is_one_clear_error(org: Org, monkeypatch: pytest.MonkeyPatch) -> None:
    expired = org.ctl("POST", "tokens/", {"user": "admin@acme-pm.org", "expires_in": -1})
    monkeypatch.setenv("CONNECT_TOKEN", expired["token"])
    result = org.run("plan", str(org.spec))
    assert result.exit_code == 1
    assert "connect.connection: the token for" in result.output
    assert "expired" in result.output and "Traceback" not in result.output
    assert expired["token"] not in result.output


BAD = [
    ("short_description: Household visits", "short_description: " + "x" * 51, "50 characters"),
    ("total_budget: 40000", "total_budget: 400000", "over the program budget 100000"),
    ('"+254700000001"', '"0700000001"', "E.164"),
    ("passing_score: 80", "passing_score: 101", "less than or equal to 100"),
    ("cc_app_id: def456", "cc_app_id: abc123", "learn_app and deliver_app must be different"),
    ("start_date: 2027-02-01", "start_date: 2026-02-01", "outside the program's dates"),
]


@pytest.mark.parametrize(("old", "new", "message"), BAD)
def test_invalid_specs_are_located_errors_before_any_request(
    org: Org, old: str, new: str, message: str
) -> None:
    org.ctl("DELETE", "counters/")
    org.edit(old, new)
    result = org.run("plan", str(org.spec))
    assert result.exit_code == 1
    assert message in result.output
    assert "connect.yaml:" in result.output  # file:line:col
    assert org.ctl("GET", "counters/") == {}


def test_deliver_unit_shared_by_two_payment_units_is_a_located_error(org: Org) -> None:
    org.edit(
        "          active: true",
        "            other: {amount: 1, org_amount: 0, max_total: 1, max_daily: 1,"
        " required_deliver_units: [visit-form]}\n          active: true",
    )
    result = org.run("validate", str(org.spec))
    assert result.exit_code == 1
    assert "household-visit and malaria-2027/kisumu-pilot/other" in result.output


def test_the_hq_key_never_leaves_the_process(
    org: Org, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    key = org.credentials["CONNECT_HQ_API_KEY"]
    caplog.set_level(logging.DEBUG)
    outputs = [org.run("plan", str(org.spec), "--format", "json").output]
    outputs.append(org.apply().output)
    org.edit("amount: 5", "amount: 7")
    outputs.append(org.run("drift", str(org.spec), "--format", "json").output)
    outputs.append(org.run("plan", str(org.spec), "--stats").output)
    export = tmp_path / "exported.yaml"
    outputs.append(org.run("export", "--provider", "connect", str(export)).output)
    outputs.append(export.read_text())
    outputs.append(caplog.text)
    for text in outputs:
        assert key not in text
    assert key.encode() not in (tmp_path / "state.db").read_bytes()
