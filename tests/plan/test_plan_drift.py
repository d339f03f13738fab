from __future__ import annotations

import json
from pathlib import Path

import jsonschema
from plan_helpers import res, state

from reconciler.plan.build import build_plan
from reconciler.plan.drift import Grade, from_plan, render_drift
from reconciler.plan.policy import Policy

SPECS = Path(__file__).resolve().parents[2] / "specs"


def report():  # type: ignore[no-untyped-def]
    desired = state(
        res("m.group.edited", description="in git"),
        res("m.group.missing"),
        res("m.member.p", role="dev"),
    )
    live = state(
        res("m.group.edited", description="<b>by hand</b>"),
        res("m.group.extra"),
        res("m.item.outside"),
        res("m.member.p", pending="invite not accepted", role="dev"),
    )
    plan = build_plan(
        desired,
        live,
        Policy(prune=frozenset({("m", "group")})),
        spec_path="org",
        spec_digest="1" * 64,
    )
    return from_plan(plan, generated_at="2026-11-23T00:00:00+00:00")


def test_grades() -> None:
    r = report()
    got = [(f.grade, f.address, f.action) for f in r.findings]
    assert got == [
        (Grade.CHANGED, "m.group.edited", "update"),
        (Grade.MISSING, "m.group.missing", "create"),
        (Grade.UNMANAGED, "m.group.extra", "delete"),
        (Grade.UNMANAGED, "m.item.outside", "none"),
        (Grade.PENDING, "m.member.p", "none"),
    ]
    assert r.drift and r.counts() == {"changed": 1, "missing": 1, "unmanaged": 2, "pending": 1}


def test_pending_and_unmanaged_outside_prune_are_not_drift() -> None:
    live = state(res("m.member.p", pending="invite not accepted"), res("m.item.outside"))
    plan = build_plan(state(res("m.member.p")), live, Policy(), spec_path="s", spec_digest="1" * 64)
    assert not from_plan(plan).drift


def test_json_matches_schema_and_html_is_self_contained_and_escaped() -> None:
    r = report()
    schema = json.loads((SPECS / "drift.schema.json").read_text("utf-8"))
    jsonschema.validate(json.loads(render_drift(r, "json")), schema)
    page = render_drift(r, "html")
    assert page.startswith("<!DOCTYPE html>") and "<script" not in page
    assert "http://" not in page and "https://" not in page  # no external resources
    assert "&lt;b&gt;by hand&lt;/b&gt;" in page and "<b>by hand" not in page
    text = render_drift(r, "text")
    assert "Changed outside git (1):" in text and "Drift found:" in text
    assert "#### Pending (1)" in render_drift(r, "markdown")
