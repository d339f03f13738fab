"""The automation API (program/api/views.py, opportunity/api/views/automation.py): POST only.

=========================================================  ===================================
``POST /api/programs/``                                    admin of the body's organisation,
                                                           which must be a program manager
``POST /api/programs/{uuid}/applications/``                admin of the program's organisation
``POST /api/programs/{uuid}/applications/{uuid}/accept/``  admin of the program's organisation
``POST /api/programs/{uuid}/opportunities/``               admin of the program's organisation
``POST /api/opportunities/{uuid}/payment_units/``          admin of the opportunity's or the
``POST /api/opportunities/{uuid}/activate/``               program's organisation
``POST /api/opportunities/{uuid}/invite_users/``
=========================================================  ===================================

Unknown UUIDs are 404, a caller who is not admin 403. Validation follows the serializers
(docs/connect-api.md#automation-api); creating an opportunity talks to CommCare HQ (``hq.py``).
"""

from __future__ import annotations

import datetime
import re
import uuid
from typing import Any

from fastapi.responses import JSONResponse, Response

from reconciler.sandbox.connect import fields as f
from reconciler.sandbox.connect import hq
from reconciler.sandbox.connect.app import Call
from reconciler.sandbox.connect.store import Row, Store, now
from reconciler.sandbox.connect.wire import ApiError, denied, field_error, invalid, not_found


def _program_view(call: Call) -> Row:
    """``ProgramAPIView.initial``: the program by UUID (404), its organisation's admin (403)."""
    program = call.store.by_uuid("programs", "program_id", call.path["program"])
    if program is None:
        raise not_found()
    if not call.store.is_admin(call.user["id"], program["organization"]):
        raise denied()
    return program


def _opportunity_view(call: Call) -> tuple[Row, Row]:
    """``OpportunityAPIView``: the opportunity by UUID, admin of its or its program's org."""
    opp = call.store.by_uuid("opportunities", "opportunity_id", call.path["opportunity"])
    if opp is None:
        raise not_found()
    program = call.store.get("programs", opp["program"])
    assert program is not None
    user = call.user["id"]
    if not (
        call.store.is_admin(user, opp["organization"])
        or call.store.is_admin(user, program["organization"])
    ):
        raise denied()
    return opp, program


def _slug(store: Store, name: str) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "program"
    taken = {p["slug"] for p in store.table("programs").values()}
    slug, n = base, 1
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    return slug


def create_program(call: Call) -> Response:
    body, store = _object(call.body), call.store
    orgs = [o["slug"] for o in store.table("organizations").values()]
    org = f.slug_of(body, "organization", "slug", orgs)
    if not store.is_admin(call.user["id"], org):
        raise denied()  # IsProgramManagerAdmin
    if not store.org(org)["program_manager"]:  # type: ignore[index]
        raise field_error("organization", "Organization must be a program manager organization.")
    settings = store.settings
    row = {
        "name": f.text(body, "name"),
        "description": f.text(body, "description", max_length=10_000),
        "organization": org,
        "delivery_type": f.slug_of(body, "delivery_type", "slug", settings["delivery_types"]),
        "budget": f.integer(body, "budget", minimum=0),
        "currency": f.slug_of(body, "currency", "code", settings["currencies"]),
        "country": f.slug_of(body, "country", "name", settings["countries"]),
        "start_date": f.date(body, "start_date"),
        "end_date": f.date(body, "end_date"),
    }
    if str(row["end_date"]) <= str(row["start_date"]):
        raise field_error("end_date", "End date must be after start date.")
    made = store.insert(
        "programs",
        {**row, "program_id": str(uuid.uuid4()), "slug": _slug(store, str(row["name"]))}
        | {"date_created": now()},
    )
    return JSONResponse(program_answer(made), 201)


def program_answer(p: Row) -> dict[str, Any]:
    keys = ("program_id", "name", "slug", "description", "organization", "delivery_type")
    more = ("budget", "currency", "country", "start_date", "end_date")
    return {k: p[k] for k in (*keys, *more)}


def create_application(call: Call) -> Response:
    program = _program_view(call)
    body, store = _object(call.body), call.store
    orgs = [o["slug"] for o in store.table("organizations").values()]
    org = f.slug_of(body, "organization", "slug", orgs)
    if store.rows("applications", program=program["id"], organization=org):
        raise field_error(
            "organization", "Organization already has an application for this program."
        )
    made = store.insert(
        "applications",
        {"program_application_id": str(uuid.uuid4()), "program": program["id"]}
        | {"organization": org, "status": "invited", "date_created": now()},
    )
    return JSONResponse(_application(store, made), 201)


def _application(store: Store, a: Row) -> dict[str, Any]:
    program = store.get("programs", a["program"])
    assert program is not None
    return {
        "program_application_id": a["program_application_id"],
        "program": program["program_id"],
        "organization": a["organization"],
        "status": a["status"],
    }


def accept_application(call: Call) -> Response:
    program = _program_view(call)
    found = call.store.by_uuid("applications", "program_application_id", call.path["application"])
    if found is None or found["program"] != program["id"]:
        raise not_found()
    if found["status"] not in ("invited", "applied"):
        status = found["status"]
        raise ApiError(400, {"status": [f"Cannot accept application with status '{status}'."]})
    found["status"] = "accepted"
    return JSONResponse(_application(call.store, found))


def create_opportunity(call: Call) -> Response:
    program = _program_view(call)
    body, store = _object(call.body), call.store
    name = f.text(body, "name")
    description = f.text(body, "description", max_length=10_000)
    short = f.text(body, "short_description", max_length=50)
    orgs = [o["slug"] for o in store.table("organizations").values()]
    org = f.slug_of(body, "organization", "slug", orgs)
    start, end = f.date(body, "start_date"), f.date(body, "end_date")
    budget = f.integer(body, "total_budget", minimum=1)
    is_test = f.boolean(body, "is_test", True)
    learn = hq.app_input(store, body, "learn_app", learn=True)
    deliver = hq.app_input(store, body, "deliver_app", learn=False)
    if not store.rows("applications", program=program["id"], organization=org, status="accepted"):
        raise field_error(
            "organization", "Organization must have an accepted application for this program."
        )
    if learn["cc_app_id"] == deliver["cc_app_id"]:
        raise invalid("Learn app and deliver app must be different.")
    assert start is not None and end is not None and budget is not None
    if start >= end:
        raise field_error("end_date", "End date must be after start date.")
    inside = program["start_date"], program["end_date"]
    if not inside[0] <= start <= inside[1]:
        raise field_error(
            "start_date", "Start date must be within the program's start and end dates."
        )
    if not inside[0] <= end <= inside[1]:
        raise field_error("end_date", "End date must be within the program's start and end dates.")
    others = sum(o["total_budget"] for o in store.rows("opportunities", program=program["id"]))
    if others + budget > program["budget"]:
        raise field_error("total_budget", "Budget exceeds the program budget.")
    learn_app, deliver_app = hq.resolve_apps(store, call.user, org, learn, deliver)
    opp = store.insert(
        "opportunities",
        {"opportunity_id": str(uuid.uuid4()), "name": name, "description": description}
        | {"short_description": short, "organization": org, "program": program["id"]}
        | {"start_date": start, "end_date": end, "total_budget": budget, "is_test": is_test}
        | {"learn_app": learn_app["id"], "deliver_app": deliver_app["id"], "active": False}
        | {"currency": program["currency"], "country": program["country"], "managed": True}
        | {"date_created": now(), "date_modified": now(), "api_key": learn["key_id"]},
    )
    return JSONResponse(_opportunity_answer(store, opp, program), 201)


def _opportunity_answer(store: Store, opp: Row, program: Row) -> dict[str, Any]:
    learn, deliver = store.get("apps", opp["learn_app"]), store.get("apps", opp["deliver_app"])
    assert learn is not None and deliver is not None
    keys = ("id", "opportunity_id", "name", "description", "short_description", "organization")
    dates = ("start_date", "end_date", "total_budget", "is_test", "currency", "country", "active")
    return {
        **{k: opp[k] for k in keys},
        "managed": True,
        "program_id": program["program_id"],
        **{k: opp[k] for k in dates},
        "learn_app": hq.app_answer(store, learn, learn=True),
        "deliver_app": hq.app_answer(store, deliver, learn=False),
    }


def create_payment_units(call: Call) -> Response:
    opp, _program = _opportunity_view(call)
    store = call.store
    items = _object(call.body).get("payment_units")
    if not isinstance(items, list) or not items:
        raise field_error(
            "payment_units", "This list may not be empty." if items == [] else f.REQUIRED
        )
    checked = [_payment_unit(store, opp, item) for item in items]
    seen: set[int] = set()
    for unit in checked:
        both = set(unit["required_deliver_units"]) | set(unit["optional_deliver_units"])
        if seen & both:
            ids = sorted(seen & both)
            raise field_error(
                "payment_units", f"Deliver units assigned to multiple payment units: {ids}"
            )
        seen |= both
    _budget_covers_claimants(store, opp, checked)
    made = []
    for unit in checked:
        row = store.insert(
            "payment_units",
            {**unit, "payment_unit_id": str(uuid.uuid4()), "opportunity": opp["id"]},
        )
        for du in [*unit["required_deliver_units"], *unit["optional_deliver_units"]]:
            store.table("deliver_units")[str(du)]["payment_unit"] = row["id"]
            store.table("deliver_units")[str(du)]["optional"] = du in unit["optional_deliver_units"]
        made.append(_unit_answer(row))
    return JSONResponse({"payment_units": made}, 201)


def _payment_unit(store: Store, opp: Row, item: Any) -> dict[str, Any]:
    body = _object(item)
    unit: dict[str, Any] = {
        "name": f.text(body, "name"),
        "description": f.text(body, "description", required=False, max_length=10_000),
        "amount": f.integer(body, "amount", minimum=0),
        "org_amount": f.integer(body, "org_amount", minimum=0, required=False),
        "max_total": f.integer(body, "max_total", minimum=1),
        "max_daily": f.integer(body, "max_daily", minimum=1),
        "required_deliver_units": f.int_list(body, "required_deliver_units"),
        "optional_deliver_units": f.int_list(body, "optional_deliver_units"),
        "start_date": f.date(body, "start_date", required=False),
        "end_date": f.date(body, "end_date", required=False),
    }
    if unit["org_amount"] is None:
        raise field_error("org_amount", "org_amount is required.")
    if unit["start_date"] and unit["end_date"] and unit["end_date"] < unit["start_date"]:
        raise field_error("end_date", "End date cannot be earlier than start date.")
    required, optional = unit["required_deliver_units"], unit["optional_deliver_units"]
    if set(required) & set(optional):
        ids = sorted(set(required) & set(optional))
        raise field_error(
            "required_deliver_units", f"Deliver units cannot be both required and optional: {ids}"
        )
    free = {
        int(d["id"])
        for d in store.rows("deliver_units", app=opp["deliver_app"])
        if d.get("payment_unit") is None
    }
    wrong = sorted(set(required + optional) - free)
    if wrong:
        raise field_error(
            "required_deliver_units", f"Invalid or already-assigned deliver unit IDs: {wrong}"
        )
    return unit


def _budget_covers_claimants(store: Store, opp: Row, units: list[dict[str, Any]]) -> None:
    """``Opportunity.validate_budget_for_payment_units``: only workers who claimed count."""
    claimants = len([a for a in store.rows("accesses", opportunity=opp["id"]) if a.get("claimed")])
    if not claimants:
        return
    every = [*store.rows("payment_units", opportunity=opp["id"]), *units]
    per_user = sum((u["amount"] + (u["org_amount"] or 0)) * u["max_total"] for u in every)
    if opp["total_budget"] < per_user * claimants:
        raise invalid(
            f"The opportunity budget cannot give the full limit to all {claimants} workers who "
            f"have already claimed. Increase it to at least {per_user * claimants} "
            f"{opp['currency']}."
        )


def _unit_answer(row: Row) -> dict[str, Any]:
    keys = ("id", "payment_unit_id", "name", "description", "amount", "org_amount")
    more = ("max_total", "max_daily", "required_deliver_units", "optional_deliver_units")
    return {k: row[k] for k in (*keys, *more, "start_date", "end_date")}


def _ended(opp: Row) -> bool:
    return str(opp["end_date"]) < datetime.date.today().isoformat()


def activate(call: Call) -> Response:
    opp, _program = _opportunity_view(call)
    if opp["active"]:
        raise invalid("Opportunity is already active.")
    if _ended(opp):
        raise invalid("Opportunity has ended and cannot be activated.")
    if not call.store.rows("payment_units", opportunity=opp["id"]):
        raise invalid("At least one payment unit must exist before activating.")
    opp["active"] = True
    opp["date_modified"] = now()
    return JSONResponse({k: opp[k] for k in ("id", "opportunity_id", "name", "active")})


def invite_users(call: Call) -> Response:
    opp, _program = _opportunity_view(call)
    phones = _object(call.body).get("phone_numbers")
    if not isinstance(phones, list) or not phones:
        message = "This list may not be empty." if phones == [] else f.REQUIRED
        raise field_error("phone_numbers", message)
    if not all(isinstance(p, str) and p.strip() for p in phones):
        raise field_error("phone_numbers", "Not a valid string.")
    if not opp["active"]:
        raise invalid("Opportunity must be active to invite users.")
    if _ended(opp):
        raise invalid("Opportunity has ended.")
    call.store.settings["tasks"].append({"opportunity": opp["id"], "phones": phones})
    message = "User invitations are being processed"
    return JSONResponse({"invited_count": len(phones), "message": message}, 202)


def run_invite_tasks(store: Store) -> bool:
    """Run queued ``add_connect_users`` tasks: a number ConnectID knows gets a user, an
    ``OpportunityAccess`` and an invite ``invited``; an unknown one only an invite
    ``not_found`` (never listed by the export). Re-inviting a number makes no duplicate."""
    tasks = store.settings.get("tasks") or []
    if not tasks:
        return False
    store.settings["tasks"] = []
    known = set(store.settings.get("connectid") or [])
    for task in tasks:
        for phone in task["phones"]:
            phone = phone.strip()
            status = "invited" if phone in known else "not_found"
            invite = store.rows("invites", opportunity=task["opportunity"], phone=phone)
            if invite:
                if invite[0]["status"] != "accepted":
                    invite[0]["status"] = status
            else:
                store.insert(
                    "invites",
                    {"opportunity": task["opportunity"], "phone": phone, "status": status}
                    | {"date_created": now()},
                )
            if status == "invited":
                user = hq.connect_user(store, phone)
                if not store.rows("accesses", opportunity=task["opportunity"], user=user["id"]):
                    store.insert(
                        "accesses",
                        {"opportunity": task["opportunity"], "user": user["id"]}
                        | {"invited_date": now(), "claimed": False, "date_learn_started": None},
                    )
    return True


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise invalid("Invalid data. Expected a dictionary, but got list.")
    return body


ROUTES = [
    ("POST", "/api/programs/", create_program),
    ("POST", "/api/programs/{program}/applications/", create_application),
    ("POST", "/api/programs/{program}/applications/{application}/accept/", accept_application),
    ("POST", "/api/programs/{program}/opportunities/", create_opportunity),
    ("POST", "/api/opportunities/{opportunity}/payment_units/", create_payment_units),
    ("POST", "/api/opportunities/{opportunity}/activate/", activate),
    ("POST", "/api/opportunities/{opportunity}/invite_users/", invite_users),
]
