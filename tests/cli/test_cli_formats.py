"""Documented output formats: plan JSON and drift JSON validate against specs/*.schema.json;
drift grades and exit codes through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
from cli_org import Org

SPECS = Path(__file__).resolve().parents[2] / "specs"


def schema(name: str) -> dict[str, object]:
    loaded: dict[str, object] = json.loads((SPECS / f"{name}.schema.json").read_text("utf-8"))
    return loaded


def test_plan_json_validates_against_the_plan_schema(org: Org) -> None:
    result = org.run("plan", str(org.spec), "--format", "json", "--stats")
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    jsonschema.validate(body, schema("plan"))
    assert body["summary"] == {"create": 4, "update": 0, "delete": 0, "deferred": 0}
    assert isinstance(body["stats"]["requests"]["memory"], int)


def test_drift_grades_and_exit_codes(org: Org, tmp_path: Path) -> None:
    assert org.run("apply", str(org.spec), "--auto-approve").exit_code == 0
    clean = org.run("drift", str(org.spec), "--format", "json")
    assert clean.exit_code == 0, clean.output
    assert json.loads(clean.stdout)["drift"] is False

    org.edit("memory.item.api", value="by-hand")
    data = json.loads(org.live.read_text("utf-8"))
    data["objects"]["memory.group.stray"] = {"id": "x", "attributes": {"description": ""}}
    org.live.write_text(json.dumps(data), "utf-8")
    found = org.run("drift", str(org.spec), "--format", "json")
    assert found.exit_code == 2, found.output
    report = json.loads(found.stdout)
    jsonschema.validate(report, schema("drift"))
    grades = {(f["grade"], f["address"], f["action"]) for f in report["findings"]}
    assert grades == {
        ("changed", "memory.item.api", "update"),
        ("unmanaged", "memory.group.stray", "delete"),
    }
    page = tmp_path / "drift.html"
    assert org.run("drift", str(org.spec), "--format", "html", "--out", str(page)).exit_code == 2
    assert "Changed outside git (1)" in page.read_text("utf-8")
