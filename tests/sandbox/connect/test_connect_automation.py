"""Conformance of the sandbox's automation API (POST only) with the real server's views and
serializers (program/api, opportunity/api/views/automation.py)."""

from __future__ import annotations

from conftest import Api


def test_program_create_answers_uuid_and_uniquified_slug(api: Api) -> None:
    first = api.program()
    second = api.program()
    assert first["slug"] == "malaria-2027" and second["slug"] == "malaria-2027-1"
    assert len(first["program_id"]) == 36 and "id" not in first
    assert first["country"] == "Kenya" and first["budget"] == 100000


def test_program_validation_and_permissions(api: Api) -> None:
    bad = api.post("/api/programs/", {"name": "x"})
    assert bad.status_code == 400 and "This field is required." in str(bad.json())
    answer = api.post(
        "/api/programs/",
        {
            "name": "P",
            "description": "d",
            "organization": "acme-pm",
            "delivery_type": "malaria",
            "budget": 1,
            "currency": "USD",
            "country": "Kenya",
            "start_date": "2027-02-01",
            "end_date": "2027-01-01",
        },
    )
    assert answer.status_code == 400
    assert answer.json() == {"end_date": ["End date must be after start date."]}
    partner = api.post(
        "/api/programs/",
        {"organization": "kisumu-health", "name": "P"},
        token=api.creds["CONNECT_PARTNER_TOKEN"],
    )
    assert partner.status_code == 400 or partner.status_code == 403
    not_pm = api.post("/api/programs/", {"organization": "kisumu-health"})
    assert not_pm.status_code == 403
    assert api.http.post("/api/programs/", json={}).status_code == 401
    expired = api.control("tokens", {"user": "admin@acme-pm.org", "expires_in": -5})["token"]
    refused = api.post("/api/programs/", {}, token=expired)
    assert refused.status_code == 401
    assert refused.json() == {"detail": "Authentication credentials were not provided."}


def test_application_then_acceptance_by_the_program_manager_only(api: Api) -> None:
    program = api.program()["program_id"]
    made = api.post(f"/api/programs/{program}/applications/", {"organization": "kisumu-health"})
    assert made.status_code == 201 and made.json()["status"] == "invited"
    again = api.post(f"/api/programs/{program}/applications/", {"organization": "kisumu-health"})
    assert again.status_code == 400
    app = made.json()["program_application_id"]
    partner = api.post(
        f"/api/programs/{program}/applications/{app}/accept/",
        token=api.creds["CONNECT_PARTNER_TOKEN"],
    )
    assert partner.status_code == 403
    assert api.post(f"/api/programs/{program}/applications/{app}/accept/").status_code == 200
    twice = api.post(f"/api/programs/{program}/applications/{app}/accept/")
    assert twice.json() == {"status": ["Cannot accept application with status 'accepted'."]}
    unknown = "00000000-0000-0000-0000-000000000000"
    assert api.post(f"/api/programs/{unknown}/applications/", {}).status_code == 404


def test_opportunity_create_rules_and_hq(api: Api) -> None:
    program = api.program()["program_id"]
    path = f"/api/programs/{program}/opportunities/"
    no_partner = api.post(path, api.opportunity_body())
    assert "accepted application" in no_partner.text
    api.accepted_partner(program)
    cases = [
        ({"short_description": "x" * 51}, "no more than 50 characters"),
        ({"start_date": "2026-12-01"}, "within the program's start and end dates"),
        ({"total_budget": 100001}, "Budget exceeds the program budget."),
        ({"deliver_app": api.app("abc123")}, "Learn app and deliver app must be different."),
        (
            {"deliver_app": api.app("def456", api_key="wrong")},
            "Failed to fetch apps from CommCare HQ.",
        ),
        ({"deliver_app": api.app("zzz")}, "App 'zzz' not found in domain 'acme'."),
        (
            {"deliver_app": api.app("def456", hq_server_url="https://www.commcarehq.org/")},
            "Object with url=https://www.commcarehq.org/ does not exist.",
        ),
        (
            {"learn_app": api.app("abc123", description="d", passing_score=101)},
            "less than or equal to 100",
        ),
    ]
    for over, message in cases:
        answer = api.post(path, api.opportunity_body(**over))
        assert answer.status_code == 400, over
        assert message in answer.text, answer.text
    api.control("hq", {"down": True})
    assert api.post(path, api.opportunity_body()).status_code == 502
    api.control("hq", {"down": False})
    made = api.opportunity(program)
    assert made["active"] is False and isinstance(made["id"], int)
    units = [u["slug"] for u in made["deliver_app"]["deliver_units"]]
    assert units == ["visit-form", "followup-form"]
    state = api.http.get("/_sandbox/state/").text
    assert api.creds["CONNECT_HQ_API_KEY"] not in state


def test_partner_admin_cannot_create_opportunities(api: Api) -> None:
    program = api.program()["program_id"]
    api.accepted_partner(program)
    api.opportunity(program)
    # the partner's admin cannot create under the program manager's program
    other = api.post(
        f"/api/programs/{program}/opportunities/",
        api.opportunity_body(),
        token=api.creds["CONNECT_PARTNER_TOKEN"],
    )
    assert other.status_code == 403


def test_payment_units_activation_and_invites(api: Api) -> None:
    program = api.program()["program_id"]
    api.accepted_partner(program)
    opp = api.opportunity(program)
    uuid, units = opp["opportunity_id"], opp["deliver_app"]["deliver_units"]
    path = f"/api/opportunities/{uuid}/"
    assert api.post(path + "activate/").json() == {
        "non_field_errors": ["At least one payment unit must exist before activating."]
    }
    assert "must be active" in api.post(path + "invite_users/", {"phone_numbers": ["+1"]}).text
    pu = {"name": "visit", "amount": 5, "max_total": 100, "max_daily": 5}
    missing = api.post(path + "payment_units/", {"payment_units": [pu]})
    assert missing.json() == {"org_amount": ["org_amount is required."]}
    pu |= {"org_amount": 1, "required_deliver_units": [units[0]["id"]]}
    made = api.post(path + "payment_units/", {"payment_units": [pu]})
    assert made.status_code == 201
    assert made.json()["payment_units"][0]["required_deliver_units"] == [units[0]["id"]]
    taken = api.post(path + "payment_units/", {"payment_units": [pu | {"name": "again"}]})
    assert taken.status_code == 400
    assert "Invalid or already-assigned deliver unit IDs" in taken.text
    assert api.post(path + "activate/").json()["active"] is True
    assert "already active" in api.post(path + "activate/").text
    invited = api.post(path + "invite_users/", {"phone_numbers": ["+254700000001", "+15550000"]})
    assert invited.status_code == 202
    assert invited.json() == {
        "invited_count": 2,
        "message": "User invitations are being processed",
    }


def test_deliver_units_shared_by_the_app_record(api: Api) -> None:
    program = api.program()["program_id"]
    api.accepted_partner(program)
    first = api.opportunity(program, total_budget=1000)
    second = api.opportunity(program, name="Second", total_budget=1000)
    ids = [u["id"] for u in first["deliver_app"]["deliver_units"]]
    assert ids == [u["id"] for u in second["deliver_app"]["deliver_units"]]
    pu = {"name": "v", "amount": 1, "org_amount": 0, "max_total": 1, "max_daily": 1}
    pu |= {"required_deliver_units": [ids[0]]}
    ok = api.post(
        f"/api/opportunities/{first['opportunity_id']}/payment_units/", {"payment_units": [pu]}
    )
    assert ok.status_code == 201
    refused = api.post(
        f"/api/opportunities/{second['opportunity_id']}/payment_units/", {"payment_units": [pu]}
    )
    assert refused.status_code == 400


def test_hq_key_is_bound_to_the_first_user_who_sends_it(api: Api) -> None:
    program = api.program()["program_id"]
    api.accepted_partner(program)
    api.opportunity(program)
    other = api.control(
        "members", {"organization": "acme-pm", "email": "second@acme-pm.org", "role": "admin"}
    )["token"]
    answer = api.post(
        f"/api/programs/{program}/opportunities/",
        api.opportunity_body(name="Second", total_budget=100),
        token=other,
    )
    assert answer.status_code == 400
    assert answer.json() == {"api_key": ["This API key is already registered to another user."]}
    member = api.control(
        "members", {"organization": "acme-pm", "email": "viewer@acme-pm.org", "role": "member"}
    )["token"]
    assert api.post(f"/api/programs/{program}/applications/", {}, token=member).status_code == 403
