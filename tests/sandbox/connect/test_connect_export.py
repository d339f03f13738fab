"""Conformance of the sandbox's data-export API (data_export/views.py, pagination.py) and its
control calls (invites, ConnectID, faults, counters)."""

from __future__ import annotations

from conftest import Api


def _live_opportunity(api: Api) -> tuple[dict[str, object], int]:
    program = api.program()["program_id"]
    api.accepted_partner(program)
    opp = api.opportunity(program)
    units = opp["deliver_app"]["deliver_units"]
    pu = {"name": "v", "amount": 5, "org_amount": 1, "max_total": 10, "max_daily": 2}
    path = f"/api/opportunities/{opp['opportunity_id']}/"
    api.post(
        path + "payment_units/",
        {"payment_units": [pu | {"required_deliver_units": [units[0]["id"]]}]},
    )
    api.post(path + "activate/")
    return opp, int(opp["id"])


def test_program_listing_has_integer_ids_and_no_budget(api: Api) -> None:
    api.program()
    listing = api.get("/export/opp_org_program_list/").json()
    (program,) = listing["programs"]
    assert isinstance(program["id"], int) and program["organization"] == "acme-pm"
    assert "budget" not in program and "program_id" not in program
    assert [o["slug"] for o in listing["organizations"]] == ["acme-pm"]


def test_export_needs_the_export_scope(api: Api) -> None:
    token = api.control("tokens", {"user": "admin@acme-pm.org", "scopes": ["read"]})["token"]
    assert api.get("/export/opp_org_program_list/", token=token).status_code == 403
    assert api.http.get("/export/opp_org_program_list/").status_code == 401


def test_keyset_pagination_and_csv(api: Api) -> None:
    for n in range(3):
        api.program(name=f"P{n}")
    first = api.get("/export/organization/acme-pm/program/", page_size=2).json()
    assert [p["name"] for p in first["results"]] == ["P0", "P1"]
    assert "last_id=" in first["next"] and "page_size=2" in first["next"]
    rest = api.http.get(
        first["next"], headers={**api.auth(), "Accept": "application/json; version=2.0"}
    )
    assert [p["name"] for p in rest.json()["results"]] == ["P2"] and rest.json()["next"] is None
    csv = api.http.get("/export/organization/acme-pm/program/", headers=api.auth())
    assert csv.headers["content-type"].startswith("text/csv") and "P2" in csv.text


def test_opportunity_export_never_lists_payment_units(api: Api) -> None:
    opp, opp_id = _live_opportunity(api)
    one = api.get(f"/export/opportunity/{opp_id}/").json()
    assert one["payment_units"] == [] and one["is_active"] is True
    assert one["opportunity_id"] == opp["opportunity_id"]
    assert one["learn_app"]["passing_score"] == 80
    (program,) = api.get("/export/opp_org_program_list/").json()["programs"]
    listing = api.get(f"/export/program/{program['id']}/opportunity/").json()
    assert [o["id"] for o in listing["results"]] == [opp_id]
    structure = api.get(f"/export/opportunity/{opp_id}/app_structure/").json()
    assert [u["slug"] for u in structure["deliver_app"]["deliver_units"]] == [
        "visit-form",
        "followup-form",
    ]
    assert api.get("/export/opportunity/999/").status_code == 404


def test_invites_async_not_found_invisible_and_acceptance(api: Api) -> None:
    opp, opp_id = _live_opportunity(api)
    path = f"/api/opportunities/{opp['opportunity_id']}/invite_users/"
    api.post(path, {"phone_numbers": ["+254700000001", "+15550001"]})
    rows = api.get(f"/export/opportunity/{opp_id}/user_data/").json()["results"]
    assert [(r["phone"], r["user_invite_status"]) for r in rows] == [("+254700000001", "invited")]
    api.post(path, {"phone_numbers": ["+254700000001"]})
    rows = api.get(f"/export/opportunity/{opp_id}/user_data/").json()["results"]
    assert len(rows) == 1
    api.control("invites/accept", {"phone": "+254700000001"})
    rows = api.get(f"/export/opportunity/{opp_id}/user_data/").json()["results"]
    assert rows[0]["user_invite_status"] == "accepted"
    api.control("connectid", {"phones": ["+15550001"]})
    api.post(path, {"phone_numbers": ["+15550001"]})
    rows = api.get(f"/export/opportunity/{opp_id}/user_data/").json()["results"]
    assert sorted(r["phone"] for r in rows) == ["+15550001", "+254700000001"]


def test_faults_and_counters(api: Api) -> None:
    api.http.delete("/_sandbox/counters/")
    api.control("faults", {"throttle": 1, "retry_after": 2})
    throttled = api.get("/export/opp_org_program_list/")
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "2"
    api.control("faults", {"lost": 1, "only": "POST /api/programs/"})
    try:
        api.program()
    except Exception as exc:  # the connection closes without an answer
        assert "disconnect" in str(exc).lower() or "closed" in str(exc).lower()
    assert len(api.get("/export/opp_org_program_list/").json()["programs"]) == 1
    counters = api.http.get("/_sandbox/counters/").json()
    assert counters["POST /api/programs/"] == 1 and counters["total"] == 3
