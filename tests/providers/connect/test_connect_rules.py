"""The Connect provider's pure steps, without a network: compile (located spec errors,
addresses and dependencies) and the create-only planning rules on hand-made states."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.address import Address
from reconciler.errors import Location, SpecErrors
from reconciler.model.resource import Resource
from reconciler.model.state import State
from reconciler.plan.change import Action, Change, FieldDiff
from reconciler.providers.base import CompileContext
from reconciler.providers.connect import rules
from reconciler.providers.connect.compile import compile_section
from reconciler.providers.connect.spec import ConnectSection
from reconciler.secrets.value import Secret


def _section(**over: Any) -> ConnectSection:
    app = {"hq_server_url": "https://hq", "api_key": Secret("k"), "cc_domain": "d"}
    opportunity = {
        "organization": "partner",
        "short_description": "Visits",
        "start_date": "2027-02-01",
        "end_date": "2027-03-01",
        "total_budget": 10,
        "learn_app": {**app, "cc_app_id": "learn", "passing_score": 50},
        "deliver_app": {**app, "cc_app_id": "deliver"},
        "payment_units": {
            "visit": {
                "amount": 1,
                "org_amount": 0,
                "max_total": 1,
                "max_daily": 1,
                "required_deliver_units": ["form"],
            }
        },
        "active": True,
        "invites": ["+254700000001"],
    } | over
    program = {
        "delivery_type": "malaria",
        "currency": "USD",
        "budget": 100,
        "start_date": "2027-01-01",
        "end_date": "2027-12-31",
        "partners": ["partner"],
        "opportunities": {"o": opportunity},
    }
    return ConnectSection.model_validate(
        {"connection": {"url": "u", "token": Secret("t")}, "organization": "pm"}
        | {"programs": {"p": program}}
    )


def _ctx() -> CompileContext:
    return CompileContext(lambda path: Location("spec.yaml", len(path), 1))


def test_addresses_and_dependencies() -> None:
    compiled = compile_section(_section(), _ctx())
    by = {str(r.address): r for r in compiled.resources}
    assert sorted(by) == [
        "connect.activation.p/o",
        "connect.invite.p/o/+254700000001",
        "connect.opportunity.p/o",
        "connect.partner.p/partner",
        "connect.payment_unit.p/o/visit",
        "connect.program.p",
    ]
    opp = by["connect.opportunity.p/o"]
    assert opp.sensitive == {"learn_api_key", "deliver_api_key"}
    assert opp.attributes["learn_api_key"] is None  # the loader fills in the fingerprint
    assert {str(a) for a in opp.depends_on} == {"connect.program.p", "connect.partner.p/partner"}
    activation = by["connect.activation.p/o"]
    assert Address("connect", "payment_unit", "p/o/visit") in activation.depends_on


@pytest.mark.parametrize(
    ("over", "message"),
    [
        ({"end_date": "2027-01-15"}, "end_date must be after start_date"),
        ({"start_date": "2026-12-01"}, "outside the program's dates"),
        ({"total_budget": 101}, "over the program budget 100"),
        ({"organization": "stranger"}, "not among the program's partners"),
        ({"invites": ["0700"]}, "E.164"),
        ({"active": False}, "invites are sent only to an active opportunity"),
    ],
)
def test_located_spec_errors(over: dict[str, Any], message: str) -> None:
    with pytest.raises(SpecErrors) as info:
        compile_section(_section(**over), _ctx())
    assert message in str(info.value) and "spec.yaml:" in str(info.value)


def test_a_deliver_unit_of_one_app_record_pays_for_one_payment_unit() -> None:
    unit = {"amount": 1, "org_amount": 0, "max_total": 1, "max_daily": 1}
    units = {
        "a": unit | {"required_deliver_units": ["form"]},
        "b": unit | {"optional_deliver_units": ["form"], "required_deliver_units": ["x"]},
    }
    with pytest.raises(SpecErrors) as info:
        compile_section(_section(payment_units=units), _ctx())
    assert "used by payment units p/o/a and p/o/b" in str(info.value)


def _update(kind: str, name: str, path: str, before: Any, after: Any) -> Change:
    a = Address("connect", kind, name)
    return Change(
        Action.UPDATE,
        a,
        desired=Resource(a, {path: after}),
        live=Resource(a, {path: before}),
        diffs=(FieldDiff(path, before, after),),
    )


def test_changed_fields_cannot_be_applied_and_say_what_cannot_be_read() -> None:
    program = _update("program", "p", "budget", 100, 90)
    named = _update("program", "p2", "currency", "USD", "KES")
    unit = _update("payment_unit", "p/o/u", "amount", 5, 6)
    partner = _update("partner", "p/x", "status", "invited", "accepted")
    out = {
        str(c.address): c for c in rules.refine([program, named, unit, partner], State(), State())
    }
    for address in ("connect.program.p", "connect.program.p2", "connect.payment_unit.p/o/u"):
        assert out[address].action is Action.DEFERRED and out[address].cannot_apply
        assert out[address].reason == rules.NO_UPDATE
    assert out["connect.program.p"].details == {
        "budget": "cannot be read (last applied: differs from spec)"
    }
    assert out["connect.program.p2"].details == {}  # currency is exported: a plain drift
    assert out["connect.payment_unit.p/o/u"].details["amount"].startswith("cannot be read")
    assert out["connect.partner.p/x"].action is Action.UPDATE  # acceptance is applicable


def test_removed_objects_are_notes_and_creates_need_unexported_fields() -> None:
    gone = Resource(Address("connect", "invite", "p/o/+1555"), {}, pending="invited")
    (note,) = rules.refine([], State(), State([gone]))
    assert note.action is Action.DEFERRED and note.reason == rules.NO_DELETE
    assert note.live is not None and note.live.pending is None
    a = Address("connect", "program", "p")
    create = Change(Action.CREATE, a, desired=Resource(a, {"name": "P", "budget": 1}))
    (refused,) = rules.check([create], State(), State())
    assert "description, country, start_date, end_date" in refused.message
