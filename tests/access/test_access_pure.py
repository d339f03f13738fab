"""The report as a pure function of hand-made states: key custody (single holder, a recreated
environment clears the debt), the JSON schema, the markdown size limit, filters, Connect's
paths, the principals a drift finding links to and what a Phase change revokes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import jsonschema

from reconciler.address import Address
from reconciler.model.resource import Resource
from reconciler.model.state import State
from reconciler.plan.access import AccessReport, History, build_report, principals_of
from reconciler.plan.access_render import MARKDOWN_LIMIT, render_access
from reconciler.plan.change import Action, Change
from reconciler.providers.connect.access import access as connect_access
from reconciler.providers.phase.access import access as phase_access
from reconciler.providers.phase.access import revoked

SCHEMA = json.loads((Path(__file__).parents[2] / "specs" / "access.schema.json").read_text())
NOW = datetime(2027, 3, 1, tzinfo=UTC)


def res(address: str, **kw: object) -> Resource:
    return Resource(Address.parse(address), **kw)  # type: ignore[arg-type]


def phase_org(members: dict[str, dict[str, list[str]]], env_id: str = "e1") -> State:
    return State(
        [
            res("phase.app.vault", attributes={"name": "vault", "sse": False}),
            res("phase.environment.vault/Prod", attributes={"name": "Prod"}, id=env_id),
            res("phase.member.owner@x.io", attributes={"role": "Owner"}),
            *[
                res(f"phase.member.{m}", attributes={"role": "Developer", "access": a})
                for m, a in members.items()
            ],
        ]
    )


def report(
    live: State, desired: State | None = None, history: History | None = None, **kw: str
) -> AccessReport:
    return build_report(
        desired or live,
        live,
        {"phase": phase_access, "connect": connect_access},
        history or History(),
        NOW,
        **kw,
    )


def test_a_single_key_holder_is_flagged() -> None:
    [custody] = report(phase_org({})).custody
    assert custody.holders == ("phase.member.owner@x.io",)
    doc = report(phase_org({})).to_dict()
    jsonschema.validate(doc, SCHEMA)
    assert doc["key_custody"][0]["single_holder"] is True
    assert "single key holder" in render_access(report(phase_org({})), "text")


def test_revocation_debt_ends_when_the_environment_is_recreated() -> None:
    revoked_row = {
        "principal": "phase.member.bob@x.io",
        "at": "2027-01-02T00:00:00+00:00",
        "id": "e1",
    }
    history = History(revocations={"phase.environment.vault/Prod": [revoked_row]})
    [same] = report(phase_org({}), history=history).custody
    assert [d["principal"] for d in same.debt] == ["phase.member.bob@x.io"]
    [recreated] = report(phase_org({}, env_id="e2"), history=history).custody
    assert recreated.debt == ()
    # holding the key again: no debt either
    [again] = report(phase_org({"bob@x.io": {"vault": ["Prod"]}}), history=history).custody
    assert again.debt == () and "phase.member.bob@x.io" in again.holders


def test_filters_and_markdown_limit() -> None:
    members = {f"user{i:04d}@x.io": {"vault": ["Prod"]} for i in range(3000)}
    big = report(phase_org(members))
    text = render_access(big, "markdown")
    assert len(text) < MARKDOWN_LIMIT and "more lines cut" in text
    assert "### Key custody (E2EE)" in text and "and 2981 more" in text  # kept before the cut
    jsonschema.validate(big.to_dict(), SCHEMA)
    only = report(phase_org(members), principal="user0007")
    assert [c.principal for c in only.cells] == ["phase.member.user0007@x.io"]
    assert report(phase_org(members), resource="nothing").cells == ()


def test_intent_differs_when_live_departs_from_the_spec() -> None:
    live = phase_org({"bob@x.io": {"vault": ["Prod"]}})
    desired = phase_org({"bob@x.io": {}})
    [cell] = [c for c in report(live, desired).cells if "bob" in c.principal]
    assert (cell.right, cell.intended, cell.differs) == ("write", None, True)


def test_connect_paths() -> None:
    live = State(
        [
            res("connect.program.p", attributes={"organization": "pm"}),
            res("connect.partner.p/kisumu", attributes={"status": "accepted"}),
            res("connect.opportunity.p/pilot", attributes={"organization": "kisumu"}),
            res("connect.invite.p/pilot/+254700000001"),
        ]
    )
    got = {(c.principal, c.resource): (c.right, c.paths) for c in report(live).cells}
    assert got == {
        ("connect.organization.pm", "connect.program.p"): ("admin", ("program manager",)),
        ("connect.organization.pm", "connect.opportunity.p/pilot"): ("admin", ("program manager",)),
        ("connect.organization.kisumu", "connect.program.p"): ("read", ("partner",)),
        ("connect.organization.kisumu", "connect.opportunity.p/pilot"): ("write", ("delivers",)),
        ("connect.worker.+254700000001", "connect.opportunity.p/pilot"): (
            "write",
            ("invited worker",),
        ),
    }


def test_principals_a_finding_is_about() -> None:
    assert principals_of("phase.member.a@x.io") == ["phase.member.a@x.io"]
    assert principals_of("flagsmith.project_permission.web/group:backend") == [
        "flagsmith.group.backend"
    ]
    assert principals_of("flagsmith.environment_permission.web/Prod/user:a@x.io") == [
        "flagsmith.member.a@x.io"
    ]
    assert principals_of("messages.mailbox_access.c@acme.fr/Bob@acme.fr") == [
        "messages.user.bob@acme.fr"
    ]
    assert principals_of("phase.app.vault") == []


def test_what_a_phase_change_revokes() -> None:
    live = res(
        "phase.member.bob@x.io",
        attributes={"access": {"vault": ["Prod"]}},
        meta={"access": {"vault": ["Prod", "Dev"]}},
    )
    want = res(
        "phase.member.bob@x.io",
        attributes={"access": {}},
        meta={"access": {"vault": ["Dev"]}},
    )
    change = Change(Action.UPDATE, live.address, desired=want, live=live)
    assert revoked(change) == [("phase.member.bob@x.io", "vault/Prod")]
    gone = Change(Action.DELETE, live.address, live=live)
    assert revoked(gone) == [
        ("phase.member.bob@x.io", "vault/Dev"),
        ("phase.member.bob@x.io", "vault/Prod"),
    ]
    team = res(
        "phase.team.t",
        attributes={"members": ["bob@x.io", "al@x.io"], "access": {"vault": ["Prod"]}},
    )
    smaller = res(
        "phase.team.t", attributes={"members": ["al@x.io"], "access": {"vault": ["Prod"]}}
    )
    assert revoked(Change(Action.UPDATE, team.address, desired=smaller, live=team)) == [
        ("phase.member.bob@x.io", "vault/Prod")
    ]
