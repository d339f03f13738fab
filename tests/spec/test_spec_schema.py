"""The generated JSON Schema: checked-in copy up to date, valid 2020-12, accepts the examples."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
from ruamel.yaml import YAML

from reconciler.spec import schema

CHECKED_IN = Path(__file__).resolve().parents[2] / "specs" / "reconciler.schema.json"


def test_checked_in_schema_is_current() -> None:
    assert CHECKED_IN.read_text(encoding="utf-8") == schema.render(), (
        "specs/reconciler.schema.json is stale: run `python -m reconciler.spec.schema`"
    )


def test_schema_is_valid_2020_12_with_metadata() -> None:
    doc = schema.json_schema()
    jsonschema.Draft202012Validator.check_schema(doc)
    assert doc["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert doc["$id"] and doc["title"] and doc["description"]
    assert doc["required"] == ["version"]
    assert doc["additionalProperties"] is False
    assert doc["properties"]["safety"]["description"]
    assert doc["$defs"]["Safety"]["properties"]["max_deletes"]["description"]


def test_examples_validate_against_schema() -> None:
    validator = jsonschema.Draft202012Validator(schema.json_schema())
    for example in sorted(CHECKED_IN.parent.glob("*.yaml")):
        data = YAML(typ="safe", pure=True).load(example.read_text(encoding="utf-8"))
        errors = [e.message for e in validator.iter_errors(data)]
        assert errors == [], example.name


def test_schema_rejects_unknown_keys() -> None:
    validator = jsonschema.Draft202012Validator(schema.json_schema())
    assert not validator.is_valid({"version": 1, "nope": 1})
    assert not validator.is_valid({"version": 2})


def test_main_writes_the_file(tmp_path: Path) -> None:
    target = tmp_path / "out" / "schema.json"
    assert schema.main([str(target)]) == 0
    assert json.loads(target.read_text(encoding="utf-8")) == schema.json_schema()
