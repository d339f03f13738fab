"""Property: for any desired and live memory states, apply(plan) then plan is empty, and
planning is deterministic (same digest, same rendering)."""

from __future__ import annotations

import hashlib
import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler import engine

GROUPS = ["alpha", "beta", "gamma", "delta"]
ITEMS = ["i1", "i2", "i3", "i4", "i5"]
TEXT = st.sampled_from(["", "x", "Some text", "UPPER"])
TAGS = st.lists(st.sampled_from(["a", "b", "c"]), max_size=3)


@st.composite
def desired(draw: st.DrawFn) -> dict[str, Any]:
    groups = draw(st.dictionaries(st.sampled_from(GROUPS), TEXT, min_size=1))
    items = draw(
        st.dictionaries(
            st.sampled_from(ITEMS),
            st.fixed_dictionaries(
                {
                    "group": st.sampled_from(sorted(groups)),
                    "value": TEXT,
                    "tags": TAGS,
                    "token": st.sampled_from([None, "t-one", "t-two"]),
                }
            ),
        )
    )
    return {"groups": groups, "items": items}


@st.composite
def live(draw: st.DrawFn) -> dict[str, Any]:
    objects: dict[str, Any] = {}
    for name in draw(st.lists(st.sampled_from(GROUPS), unique=True)):
        objects[f"memory.group.{name}"] = {
            "id": f"g-{name}",
            "attributes": {"description": draw(TEXT)},
            "pending": None,
        }
    for name in draw(st.lists(st.sampled_from(ITEMS), unique=True)):
        attrs: dict[str, Any] = {
            "group": draw(st.sampled_from(GROUPS)),
            "owner": None,
            "value": draw(TEXT),
            "tags": sorted(set(draw(TAGS))),
        }
        token = draw(st.sampled_from([None, "t-one", "t-old"]))
        if token is not None:
            attrs["token"] = hashlib.sha256(token.encode()).hexdigest()
        objects[f"memory.item.{name}"] = {"id": f"i-{name}", "attributes": attrs, "pending": None}
    return objects


def spec_text(d: dict[str, Any]) -> str:
    lines = [
        "version: 1",
        "memory:",
        '  connection: {path: "${env:MEMORY_PATH}"}',
        "  prune: [groups, items]",
        "  groups:",
    ]
    lines += [
        f"    {name}: {{description: {json.dumps(text)}}}" for name, text in d["groups"].items()
    ]
    lines.append("  items:" if d["items"] else "  items: {}")
    for name, item in d["items"].items():
        fields = [
            f"group: {item['group']}",
            f"value: {json.dumps(item['value'])}",
            f"tags: {json.dumps(item['tags'])}",
        ]
        if item["token"]:
            fields.append('token: "${env:TOKEN_' + item["token"].replace("-", "_").upper() + '}"')
        lines.append(f"    {name}: {{{', '.join(fields)}}}")
    return "\n".join(lines) + "\n"


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(desired(), live())
def test_apply_then_plan_is_empty_and_plans_are_deterministic(
    d: dict[str, Any], objects: dict[str, Any]
) -> None:
    from reconciler.plan.render import render_text

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "live.json").write_text(json.dumps({"objects": objects}))
        spec = root / "spec.yaml"
        spec.write_text(spec_text(d))
        env = {
            "MEMORY_PATH": str(root / "live.json"),
            "TOKEN_T_ONE": "t-one",
            "TOKEN_T_TWO": "t-two",
            "RECONCILER_FINGERPRINT_KEY": "cd" * 32,
        }
        with engine.Session(spec, env=env) as session:
            first = session.make_plan(allow_deletes=True)
            second = session.make_plan(allow_deletes=True)
            assert first.digest == second.digest
            assert render_text(first, False) == render_text(second, False)
            assert not first.refused, first.violations
            result = session.apply(first)
            assert result.ok, [r.line() for r in result.results]
            after = session.make_plan(allow_deletes=True)
            assert after.empty, [f"{c.action} {c.address} {c.diffs}" for c in after.changes]
        live_after = json.loads((root / "live.json").read_text())["objects"]
        expected = {f"memory.group.{g}" for g in d["groups"]} | {
            f"memory.item.{i}" for i in d["items"]
        }
        assert set(live_after) == expected
