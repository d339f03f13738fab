from __future__ import annotations

import json
from pathlib import Path

import jsonschema
from plan_helpers import res, state

from reconciler.plan.build import build_plan
from reconciler.plan.plan import Plan
from reconciler.plan.policy import Policy
from reconciler.plan.render import (
    MARKDOWN_LIMIT,
    render_json,
    render_markdown,
    render_text,
    stats_lines,
)

SPECS = Path(__file__).resolve().parents[2] / "specs"
FINGERPRINT = "hmac-sha256:" + "ab" * 32


def sample() -> Plan:
    desired = state(
        res("m.group.new", description="New"),
        res("m.item.api", deps=["m.group.new"], value="2", sensitive=["token"], token=FINGERPRINT),
    )
    live = state(
        res("m.item.api", value="1", sensitive=["token"], token=None),
        res("m.group.old"),
        res("m.other.kept"),
    )
    policy = Policy(prune=frozenset({("m", "group")}))
    return build_plan(desired, live, policy, spec_path="org/", spec_digest="1" * 64)


def test_text_shows_symbols_fields_and_masks_sensitive_values() -> None:
    text = render_text(sample())
    assert '  + m.group.new\n      description: "New"' in text
    assert '  ~ m.item.api\n      token: null -> "(sensitive)"\n      value: "1" -> "2"' in text
    assert "  - m.group.old" in text
    assert "  ? m.other.kept" in text
    assert text.rstrip().endswith("Plan: 1 to create, 1 to update, 1 to delete, 0 deferred.")
    assert FINGERPRINT not in text and "\x1b[" not in text
    coloured = render_text(sample(), color=True)
    assert "\x1b[32m  + m.group.new\x1b[0m" in coloured


def test_empty_plan_says_so() -> None:
    plan = build_plan(state(), state(), Policy(), spec_path="s", spec_digest="1" * 64)
    assert render_text(plan) == "No changes. Live state matches the spec.\n"


def test_json_matches_the_documented_schema_and_hides_fingerprints() -> None:
    text = render_json(sample())
    schema = json.loads((SPECS / "plan.schema.json").read_text("utf-8"))
    jsonschema.validate(json.loads(text), schema)
    assert FINGERPRINT not in text
    assert Plan.from_dict(json.loads(text)).digest == sample().digest


def test_markdown_summary_groups_and_folding() -> None:
    md = render_markdown(sample())
    assert "| 1 | 1 | 1 | 0 |" in md
    assert "#### m · group (1 create, 1 delete)" in md
    assert "- `~` `m.item.api` update" in md
    big_desired = state(*(res(f"m.item.i{i:05d}", value="x" * 40) for i in range(5000)))
    big = build_plan(big_desired, state(), Policy(), spec_path="s", spec_digest="1" * 64)
    text = render_markdown(big)
    assert len(text) < MARKDOWN_LIMIT
    assert "more changes not shown" in text
    mid = state(*(res(f"m.item.i{i:02d}") for i in range(12)))
    folded = render_markdown(
        build_plan(mid, state(), Policy(), spec_path="s", spec_digest="1" * 64)
    )
    assert "<details><summary>m · item (12 create)</summary>" in folded


def two_providers() -> Plan:
    desired = state(
        res("b.app.api", description="API"),
        res("b.env.api-dev", deps=["b.app.api"]),
        res("m.group.new", description="New"),
    )
    live = state(res("m.group.old"))
    policy = Policy(prune=frozenset({("m", "group")}))
    return build_plan(desired, live, policy, spec_path="org/", spec_digest="1" * 64)


def test_text_groups_changes_per_provider_when_there_are_several() -> None:
    text = render_text(two_providers())
    b_at = text.index("b: 2 to create, 0 to update, 0 to delete, 0 deferred\n  + b.app.api")
    m_at = text.index("m: 1 to create, 0 to update, 1 to delete, 0 deferred\n")
    assert b_at < text.index("  + b.env.api-dev") < m_at < text.index("  + m.group.new")
    assert text.rstrip().endswith("Plan: 3 to create, 0 to update, 1 to delete, 0 deferred.")
    assert "m: " not in render_text(sample())  # one provider: no headings


def test_json_and_markdown_count_changes_per_provider() -> None:
    plan = two_providers()
    document = json.loads(render_json(plan))
    jsonschema.validate(document, json.loads((SPECS / "plan.schema.json").read_text("utf-8")))
    assert document["providers"] == {
        "b": {"create": 2, "update": 0, "delete": 0, "deferred": 0},
        "m": {"create": 1, "update": 0, "delete": 1, "deferred": 0},
    }
    assert Plan.from_dict(document).digest == plan.digest  # derived, outside the digest
    md = render_markdown(plan)
    assert "| b | 2 | 0 | 0 | 0 |\n| m | 1 | 0 | 1 | 0 |\n| **total** | 3 | 0 | 1 | 0 |" in md


def test_stats_lines_group_requests_per_provider() -> None:
    stats = {
        "requests": {"memory": 1, "phase": 3},
        "seconds": 0.25,
        "providers": {
            "memory": {"requests": 1, "read_seconds": 0.001},
            "phase": {
                "requests": 3,
                "retries": 1,
                "throttled": 2,
                "read_seconds": 0.2,
                "routes": {"GET /v1/apps/": 2, "GET /v1/roles/": 1},
            },
        },
    }
    assert stats_lines(stats) == [
        "requests memory: 1 (read 0.00s)",
        "requests phase: 3 (retries 1, throttled 2; read 0.20s)",
        "  GET /v1/apps/: 2",
        "  GET /v1/roles/: 1",
        "wall time: 0.25s",
    ]
    assert stats_lines({"requests": {"memory": 4}}) == ["requests memory: 4"]
