"""A delete's blast radius (``Change.cascade``): counted by the delete limits, each object once,
shown by every render, part of the digest and of the documented JSON form."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from reconciler.address import Address
from reconciler.model.resource import Resource
from reconciler.plan.change import Action, Cascade, Change
from reconciler.plan.plan import Plan
from reconciler.plan.policy import SafetyLimits
from reconciler.plan.render import render_json, render_markdown, render_text
from reconciler.plan.safety import delete_violations

SCHEMA = Path(__file__).resolve().parents[2] / "specs" / "plan.schema.json"


def a(text: str) -> Address:
    return Address.parse(text)


def delete(address: str, *cascaded: str, **counts: int | None) -> Change:
    live = Resource(a(address), {})
    cascade = Cascade(
        tuple(a(c) for c in cascaded), {k.replace("_", " "): v for k, v in counts.items()}
    )
    return Change(Action.DELETE, live.address, live=live, cascade=cascade)


def three_apps() -> list[Change]:
    """3 app deletes taking 7 environments with them (3 + 2 + 2)."""
    out = []
    for app, n in (("a", 3), ("b", 2), ("c", 2)):
        envs = [f"p.environment.{app}/e{i}" for i in range(n)]
        out.append(delete(f"p.app.{app}", *envs, environments=n, secrets=None, member_grants=1))
    return out


def test_cascaded_objects_count_toward_max_deletes() -> None:
    [violation] = delete_violations(three_apps(), 100, SafetyLimits(max_deletes=5))
    assert violation.rule == "max_deletes"
    assert violation.addresses == (a("p.app.a"), a("p.app.b"), a("p.app.c"))
    assert (
        "plan deletes 10 objects (3 deletes and 7 objects deleted with them)" in violation.message
    )
    # without the cascade the same plan passes: the limit is about what the server deletes
    bare = [Change(Action.DELETE, c.address, live=c.live) for c in three_apps()]
    assert delete_violations(bare, 100, SafetyLimits(max_deletes=5)) == []
    assert delete_violations(three_apps(), 100, SafetyLimits(max_deletes=10)) == []


def test_cascaded_objects_count_toward_the_share_and_are_counted_once() -> None:
    # 10 of 16 live objects go: 62%, over 50%; 3 of 16 alone would be 19%
    [share] = delete_violations(three_apps(), 16, SafetyLimits(max_deletes=100))
    assert share.rule == "max_delete_share"
    assert "10 of 16 live objects (62%; 3 deletes and 7 objects" in share.message
    # an object deleted by a change of its own and by a parent's cascade is one object
    both = [delete("f.project.p", "f.environment.p/x"), delete("f.environment.p/x")]
    [limit] = delete_violations(both, 100, SafetyLimits(max_deletes=1))
    assert "plan deletes 2 objects, more than max_deletes (1)" in limit.message
    assert delete_violations(three_apps(), 16, SafetyLimits(10, 0.5, override=True)) == []


def test_one_delete_with_a_cascade_is_checked_against_the_share() -> None:
    # a single app delete is no mass deletion, but one that takes most of the organisation is
    app = delete("p.app.a", "p.environment.a/x", "p.environment.a/y")
    assert [v.rule for v in delete_violations([app], 4, SafetyLimits())] == ["max_delete_share"]


def test_every_render_says_what_goes_with_a_delete() -> None:
    app = delete("p.app.a", "p.environment.a/x", environments=1, secrets=None, member_grants=2)
    token_only = delete("p.service_account.ci", "p.sa_token.ci/t1", "p.sa_token.ci/t2")
    project = delete("f.project.p", "f.repository.p/r", "f.repository.p/s", "f.integration.p/i")
    plan = Plan(spec_path="s", spec_digest="0" * 64, changes=(app, token_only, project))
    text = render_text(plan)
    assert "- f.project.p (with 2 repositories, 1 integration)" in text
    assert "- p.app.a (with 1 environment, all secrets, 2 member grants)" in text
    assert "- p.service_account.ci (with 2 sa tokens)" in text  # no counts: by kind
    assert "delete (with 1 environment, all secrets, 2 member grants)" in render_markdown(plan)
    document = json.loads(render_json(plan))
    jsonschema.validate(document, json.loads(SCHEMA.read_text("utf-8")))
    assert document["changes"][0]["cascade"] == {
        "objects": ["p.environment.a/x"],
        "counts": {"environments": 1, "secrets": None, "member grants": 2},
    }


def test_the_cascade_is_part_of_the_digest_and_survives_a_saved_plan() -> None:
    plan = Plan(spec_path="s", spec_digest="0" * 64, changes=tuple(three_apps()))
    again = Plan.from_dict(json.loads(render_json(plan)))
    assert again.changes == plan.changes and again.digest == plan.digest
    smaller = delete("p.app.c", "p.environment.c/e0", environments=1, member_grants=1)
    fewer = Plan(spec_path="s", spec_digest="0" * 64, changes=(*three_apps()[:2], smaller))
    assert fewer.digest != plan.digest
    # a change without a cascade keeps the JSON form it had (no key), so older digests hold
    assert (
        "cascade" not in Change(Action.DELETE, a("p.app.z"), live=Resource(a("p.app.z"))).to_dict()
    )
