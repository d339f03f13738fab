"""The Connect example end to end against the sandbox, through the CLI: one apply invites and
accepts the partner and creates everything; invites stay pending (never re-sent) until workers
accept; changed immutable fields are drift that apply leaves alone; additions are creates."""

from __future__ import annotations

import httpx
from connect_org import Org

P = "connect.program.malaria-2027"
OPP = "connect.opportunity.malaria-2027/kisumu-pilot"
UNIT = "connect.payment_unit.malaria-2027/kisumu-pilot/household-visit"
INVITE = "connect.invite.malaria-2027/kisumu-pilot/"


def _posts(org: Org) -> dict[str, int]:
    counters: dict[str, int] = org.ctl("GET", "counters/")
    return {k: v for k, v in counters.items() if k.startswith("POST")}


def test_one_apply_creates_everything_and_invites_wait_for_workers(org: Org) -> None:
    planned = org.plan_json()
    assert [c["action"] for c in planned["changes"]] == ["create"] * 7
    org.converge()
    assert [p["name"] for p in org.table("programs")] == ["Malaria 2027"]
    assert [a["status"] for a in org.table("applications")] == ["accepted"]
    (opp,) = org.table("opportunities")
    assert opp["active"] is True and opp["is_test"] is False
    assert len(org.table("payment_units")) == 1
    assert sorted(i["status"] for i in org.table("invites")) == ["invited", "invited"]
    pending = org.plan_json()
    assert {c["action"] for c in pending["changes"]} == {"deferred"}
    assert {c["address"] for c in pending["changes"]} == {
        INVITE + "+254700000001",
        INVITE + "+254700000002",
    }
    org.ctl("DELETE", "counters/")
    assert org.apply().exit_code == 0
    assert _posts(org) == {}  # pending invites are never sent again
    for phone in ("+254700000001", "+254700000002"):
        org.ctl("POST", "invites/accept/", {"phone": phone})
    assert org.plan_json()["changes"] == []
    code, found = org.drift()
    assert code == 0 and found == {}


def test_number_unknown_to_connectid_is_reported_not_resent(org: Org) -> None:
    org.edit('"+254700000002"]', '"+254700000002", "+15550001234"]')
    org.converge()
    invites = {i["phone"]: i["status"] for i in org.table("invites")}
    assert invites["+15550001234"] == "not_found"
    org.ctl("DELETE", "counters/")
    plan = org.run("plan", str(org.spec))
    assert "invited, not visible (unknown to ConnectID?)" in plan.output
    assert org.apply().exit_code == 0
    assert _posts(org) == {}


def test_changed_immutable_fields_are_drift_that_apply_leaves_alone(org: Org) -> None:
    org.converge()
    edit = {"op": "set_opportunity", "name": "Kisumu pilot"}
    edit["fields"] = {"short_description": "Edited"}  # type: ignore[assignment]
    org.ctl("POST", "changes/", {"changes": [edit]})
    org.edit("budget: 100000", "budget: 90000")
    org.edit("amount: 5", "amount: 6")
    code, found = org.drift()
    assert code == 2
    assert found[OPP][:2] == ("changed", "none")
    assert 'short_description: "Edited" -> "Household visits"' in found[OPP][2]
    assert found[P][:2] == ("changed", "none")
    assert 'budget: "cannot be read (last applied: differs from spec)"' in found[P][2]
    assert found[UNIT][:2] == ("changed", "none")
    assert any("the API has no update" in line for line in found[UNIT][2])
    plan = org.run("plan", str(org.spec), "--detailed-exitcode")
    assert plan.exit_code == 0 and "(cannot be applied)" in plan.output
    org.ctl("DELETE", "counters/")
    applied = org.apply()
    assert applied.exit_code == 0, applied.output
    assert _posts(org) == {}
    assert org.table("opportunities")[0]["short_description"] == "Edited"


def test_additions_are_creates_and_removals_are_reported(org: Org) -> None:
    org.converge()
    org.edit(
        "          active: true",
        "            follow-up: {amount: 2, org_amount: 0, max_total: 50, max_daily: 2,"
        " required_deliver_units: [followup-form]}\n          active: true",
    )
    planned = org.plan_json()
    executable = [(c["action"], c["address"]) for c in planned["changes"]]
    executable = [c for c in executable if c[0] != "deferred"]
    assert executable == [("create", "connect.payment_unit.malaria-2027/kisumu-pilot/follow-up")]
    org.converge()
    assert len(org.table("payment_units")) == 2
    org.edit(', "+254700000002"]', "]")
    plan = org.run("plan", str(org.spec))
    assert "the API has no delete" in plan.output
    assert org.apply().exit_code == 0
    assert len(org.table("invites")) == 2


def test_two_live_programs_with_the_spec_name_are_an_error_naming_both(org: Org) -> None:
    body = {
        "name": "Malaria 2027",
        "description": "made in Connect",
        "organization": "acme-pm",
        "delivery_type": "malaria",
        "budget": 1000,
        "currency": "USD",
        "country": "Kenya",
        "start_date": "2027-01-01",
        "end_date": "2027-12-31",
    }
    headers = {"Authorization": f"Bearer {org.credentials['CONNECT_TOKEN']}"}
    for _ in range(2):
        made = httpx.post(
            f"{org.credentials['CONNECT_URL']}/api/programs/", json=body, headers=headers
        )
        assert made.status_code == 201
    ids = [p["id"] for p in org.table("programs")]
    result = org.run("plan", str(org.spec))
    assert result.exit_code == 1
    assert f"{P}: two live programs of acme-pm are named 'Malaria 2027'" in result.output
    assert f"export ids {ids[0]} and {ids[1]}" in result.output
    assert "Traceback" not in result.output


def test_an_application_left_invited_is_accepted_by_the_next_run(org: Org) -> None:
    only = "POST /api/programs/{program}/applications/{application}/accept/"
    org.ctl("POST", "faults/", {"errors": 1, "error_status": 400, "only": only})
    failed = org.apply()
    assert failed.exit_code == 1
    assert [a["status"] for a in org.table("applications")] == ["invited"]
    planned = org.plan_json()
    partner = next(c for c in planned["changes"] if c["address"].startswith("connect.partner."))
    assert partner["action"] == "update"
    assert partner["diffs"] == [
        {"path": "status", "before": "invited", "after": "accepted", "sensitive": False}
    ]
    org.converge()
    assert [a["status"] for a in org.table("applications")] == ["accepted"]
    assert len(org.table("applications")) == 1
