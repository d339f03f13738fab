"""The data-export API (data_export/views.py), read-only, ``export`` scope.

``GET /export/opp_org_program_list/`` (plain JSON): the caller's organisations, their
opportunities (as delivering or program-manager organisation) and their programs.
``GET /export/organization/{slug}/program/``, ``/export/program/{id}/opportunity/``,
``/export/opportunity/{id}/user_data/``: keyset-paginated JSON for ``version=2.0``, CSV
otherwise (``wire.keyset_page``). ``GET /export/opportunity/{id}/``: one opportunity.
``GET /export/opportunity/{id}/app_structure/``: the apps as HQ describes them.

Faithful quirks (docs/connect-api.md#reading-live-state): an opportunity's ``payment_units`` is
always ``[]`` (the serializer method breaks under the DRF version the server locks); program
budget, dates, country and description are not exported; ``user_data`` lists
``OpportunityAccess`` rows, so an invite to a number unknown to ConnectID (``not_found``) never
appears. An opportunity or program the caller's organisations cannot see is 404.
"""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse, Response

from reconciler.sandbox.connect import hq
from reconciler.sandbox.connect.app import Call
from reconciler.sandbox.connect.store import Row, Store
from reconciler.sandbox.connect.wire import ApiError, csv_stream, keyset_page, not_found


def _orgs(call: Call) -> set[str]:
    return {m["organization"] for m in call.store.rows("memberships", user=call.user["id"])}


def _program_row(store: Store, p: Row) -> dict[str, Any]:
    return {
        "id": p["id"],
        "name": p["name"],
        "delivery_type": p["delivery_type"],
        "currency": p["currency"],
        "organization": p["organization"],
        "funder": None,
        "watchers": [],
    }


def _listing(call: Call, rows: list[dict[str, Any]]) -> Response:
    if call.version == "2.0":
        return JSONResponse(keyset_page(rows, call.params, call.url))
    if call.version not in (None, "1.0"):
        raise ApiError(406, 'Invalid version in "Accept" header.')
    return csv_stream(rows)


def org_program_list(call: Call) -> Response:
    call.need_scope("export")
    store, orgs = call.store, _orgs(call)
    programs = [p for p in store.rows("programs") if p["organization"] in orgs]
    program_orgs = {p["id"]: p["organization"] for p in store.rows("programs")}
    opps = [
        o
        for o in store.rows("opportunities")
        if o["organization"] in orgs or program_orgs.get(o["program"]) in orgs
    ]
    return JSONResponse(
        {
            "organizations": [
                {"id": o["id"], "slug": o["slug"], "name": o["name"], "funder": None}
                for o in store.rows("organizations")
                if o["slug"] in orgs
            ],
            "opportunities": [
                {k: o[k] for k in ("id", "name", "date_created", "organization", "end_date")}
                | {"supervising_organization": None, "is_active": o["active"]}
                | {"program": o["program"], "visit_count": 0}
                for o in opps
            ],
            "programs": [_program_row(store, p) for p in programs],
        }
    )


def organization_programs(call: Call) -> Response:
    call.need_scope("export")
    slug = call.path["org"]
    rows = [] if slug not in _orgs(call) else call.store.rows("programs", organization=slug)
    return _listing(call, [_program_row(call.store, p) for p in rows])


def program_opportunities(call: Call) -> Response:
    call.need_scope("export")
    program = call.store.get("programs", call.path["program"])
    if program is None or program["organization"] not in _orgs(call):
        return _listing(call, [])
    opps = call.store.rows("opportunities", program=program["id"])
    return _listing(call, [opportunity_row(call.store, o) for o in opps])


def _opportunity(call: Call) -> Row:
    """``_get_opportunity_or_404``: a member of its organisation or of its program's."""
    opp = call.store.get("opportunities", call.path["opp"])
    if opp is None:
        raise not_found()
    program = call.store.get("programs", opp["program"])
    orgs = _orgs(call)
    if opp["organization"] not in orgs and (program is None or program["organization"] not in orgs):
        raise not_found()
    return opp


def opportunity_row(store: Store, o: Row) -> dict[str, Any]:
    """``OpportunitySerializer`` as the export renders it (``payment_units`` always empty)."""
    learn, deliver = store.get("apps", o["learn_app"]), store.get("apps", o["deliver_app"])
    assert learn is not None and deliver is not None
    modules = len(store.rows("learn_modules", app=learn["id"]))
    keys = ("id", "opportunity_id", "name", "description", "short_description", "date_created")
    return {
        **{k: o[k] for k in keys},
        "date_modified": o["date_modified"],
        "organization": o["organization"],
        "learn_app": hq.export_app(store, learn),
        "deliver_app": hq.export_app(store, deliver),
        "start_date": o["start_date"],
        "end_date": o["end_date"],
        "max_visits_per_user": None,
        "daily_max_visits_per_user": None,
        "budget_per_visit": None,
        "total_budget": o["total_budget"],
        "claim": None,
        "learn_progress": {"total_modules": modules, "completed_modules": 0},
        "deliver_progress": 0,
        "currency": o["currency"],
        "is_active": o["active"],
        "budget_per_user": 0,
        "payment_units": [],
        "is_user_suspended": False,
        "catchment_areas": [],
        "verification_flags": None,
    }


def single_opportunity(call: Call) -> Response:
    call.need_scope("export")
    return JSONResponse(opportunity_row(call.store, _opportunity(call)))


def user_data(call: Call) -> Response:
    call.need_scope("export")
    opp = _opportunity(call)
    store = call.store
    rows = []
    for access in store.rows("accesses", opportunity=opp["id"]):
        user = store.get("users", access["user"])
        assert user is not None
        invite = store.rows("invites", opportunity=opp["id"], phone=user["phone"])
        rows.append(
            {"id": access["id"], "username": user["username"], "name": user["name"]}
            | {"phone": user["phone"], "date_learn_started": access["date_learn_started"]}
            | {"user_invite_status": invite[0]["status"] if invite else None}
            | {"payment_accrued": 0, "suspended": False, "suspension_date": None}
            | {"suspension_reason": None, "invited_date": access["invited_date"]}
            | {"completed_learn_date": None, "last_active": None, "date_claimed": None}
            | {"claim_limits": []}
        )
    return _listing(call, rows)


def app_structure(call: Call) -> Response:
    call.need_scope("export")
    opp = _opportunity(call)
    kind = call.params.get("app_type", "both")
    if kind not in ("learn", "deliver", "both"):
        return JSONResponse(
            {"error": "Invalid app_type. Must be one of: learn, deliver, both"}, 400
        )
    if call.store.settings["hq"].get("down"):
        return JSONResponse({"error": "Failed to fetch app structure from CommCare HQ."}, 502)
    out: dict[str, Any] = {"learn_app": None, "deliver_app": None}
    for name, learn in (("learn_app", True), ("deliver_app", False)):
        if kind in (name.split("_")[0], "both"):
            app = call.store.get("apps", opp[name])
            assert app is not None
            out[name] = hq.app_answer(call.store, app, learn=learn)
    return JSONResponse(out)


ROUTES = [
    ("GET", "/export/opp_org_program_list/", org_program_list),
    ("GET", "/export/organization/{org}/program/", organization_programs),
    ("GET", "/export/program/{program:int}/opportunity/", program_opportunities),
    ("GET", "/export/opportunity/{opp:int}/", single_opportunity),
    ("GET", "/export/opportunity/{opp:int}/user_data/", user_data),
    ("GET", "/export/opportunity/{opp:int}/app_structure/", app_structure),
]
