"""Saved plans are portable: ``apply --plan`` finds the reviewed spec from any working
directory (the path is kept relative to the plan file, and the spec digest decides), and says
which spec path it expected when it cannot."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from cli_org import Org


def change_value(org: Org) -> None:
    assert org.run("apply", str(org.spec), "--auto-approve").exit_code == 0
    org.write_spec(org.spec.read_text().replace('value: "1"', 'value: "2"'))


def test_plan_file_keeps_the_spec_path_relative_to_itself(org: Org) -> None:
    (org.root / "out").mkdir()
    assert org.run("plan", "org/spec.yaml", "--out", "out/p.json").exit_code == 0
    saved = json.loads((org.root / "out" / "p.json").read_text())
    assert saved["spec"]["path"] == "../org/spec.yaml"


def test_apply_saved_plan_from_another_directory(
    org: Org, tmp_path_factory: pytest.TempPathFactory
) -> None:
    change_value(org)
    assert org.run("plan", "org", "--out", "plan.json").exit_code == 0
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    os.chdir(elsewhere)
    applied = org.run("apply", "--plan", str(org.root / "plan.json"))
    assert applied.exit_code == 0, applied.output
    assert org.objects()["memory.item.api"]["attributes"]["value"] == "2"


def test_plan_handed_over_to_another_checkout(
    org: Org, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """CI: the PR job saves plan.json at the checkout root; the merge job has another checkout
    (another absolute path) and downloads the artifact into a directory of its own."""
    change_value(org)
    assert org.run("plan", "org", "--out", "plan.json").exit_code == 0
    checkout = tmp_path_factory.mktemp("merge-checkout")
    shutil.copytree(org.root / "org", checkout / "org")
    (checkout / "reviewed").mkdir()
    shutil.copy(org.root / "plan.json", checkout / "reviewed" / "plan.json")
    os.chdir(checkout)
    applied = org.run("apply", "--plan", "reviewed/plan.json")
    assert applied.exit_code == 0, applied.output
    assert org.objects()["memory.item.api"]["attributes"]["value"] == "2"


def test_plan_written_to_stdout_applies_from_where_it_was_made(org: Org) -> None:
    change_value(org)
    made = org.run("plan", "org/spec.yaml", "--format", "json")
    Path("p.json").write_text(made.stdout)
    applied = org.run("apply", "--plan", "p.json")
    assert applied.exit_code == 0, applied.output


def test_missing_spec_names_the_expected_path(
    org: Org, tmp_path_factory: pytest.TempPathFactory
) -> None:
    change_value(org)
    assert org.run("plan", "org", "--out", "plan.json").exit_code == 0
    lonely = tmp_path_factory.mktemp("lonely")
    shutil.copy(org.root / "plan.json", lonely / "plan.json")
    os.chdir(lonely)
    result = org.run("apply", "--plan", "plan.json")
    assert result.exit_code == 1
    assert "plan.json: the plan was made from the spec at org ('org' relative to the plan " in (
        result.stderr
    )
    assert "reconciler apply --plan plan.json SPEC_PATH" in result.stderr
    # Given explicitly, the spec is used (and its digest still checked).
    explicit = org.run("apply", "--plan", "plan.json", str(org.root / "org"))
    assert explicit.exit_code == 0, explicit.output


def test_changed_spec_is_named(org: Org) -> None:
    change_value(org)
    assert org.run("plan", "org", "--out", "plan.json").exit_code == 0
    org.write_spec(org.spec.read_text().replace('value: "2"', 'value: "3"'))
    result = org.run("apply", "--plan", "plan.json")
    assert result.exit_code == 1
    assert "the spec changed since the plan was made: org is not the reviewed version" in (
        result.stderr
    )
    assert org.objects()["memory.item.api"]["attributes"]["value"] == "1"
