"""The CI recipes, run for real: the shell steps of examples/ci/ (steps.sh, which both the
GitHub and the GitLab recipe call) against the Phase sandbox, as a pull-request job then a merge
job on another checkout would run them: the merge applies exactly the plan saved by the PR
step; a stale plan is refused with the new diff in the job summary; a refused plan still yields
a comment saying why."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CI = ROOT / "examples" / "ci"
STEPS = CI / "steps.sh"
RECONCILER = Path(sys.executable).with_name("reconciler")

SPEC = """\
version: 1
phase:
  connection:
    url: ${env:PHASE_URL}
    token: ${env:PHASE_TOKEN}
  apps:
    ci-demo:
      description: Reviewed in a pull request
      environments: [Development, Production]
"""


class Runner:
    """One CI job: a checkout of the spec repository and the job's environment."""

    def __init__(self, checkout: Path, env: dict[str, str]) -> None:
        self.checkout = checkout
        self.env = env

    def step(self, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", str(STEPS), *args],
            cwd=self.checkout,
            env={**self.env, **extra},
            capture_output=True,
            text=True,
            timeout=300,
        )

    def read(self, name: str) -> str:
        return (self.checkout / name).read_text("utf-8")


@pytest.fixture
def jobs(phase: Any, tmp_path: Path) -> tuple[Runner, Runner, Any]:
    """A PR runner and a merge runner: two checkouts of the same repository, sharing only the
    state store (PostgreSQL in real CI; one SQLite file here) and the secrets."""
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "NO_COLOR": "1",
        "RECONCILER": str(RECONCILER),
        "RECONCILER_STATE": str(tmp_path / "state.db"),
        "PHASE_URL": phase.credentials["PHASE_URL"],
        "PHASE_TOKEN": phase.credentials["PHASE_TOKEN"],
    }
    runners = []
    for name in ("pr-checkout", "merge-checkout"):
        checkout = tmp_path / name
        (checkout / "org").mkdir(parents=True)
        (checkout / "org" / "phase.yaml").write_text(SPEC, "utf-8")
        runners.append(Runner(checkout, {**env, "SUMMARY": str(checkout / "summary.md")}))
    return runners[0], runners[1], phase


def hand_over(pr: Runner, merge: Runner) -> str:
    """The artifact download: the PR job's plan.json into the merge checkout's reviewed/."""
    (merge.checkout / "reviewed").mkdir(exist_ok=True)
    shutil.copy(pr.checkout / "plan.json", merge.checkout / "reviewed" / "plan.json")
    return "reviewed/plan.json"


def apps(phase: Any) -> dict[str, dict[str, Any]]:
    with phase.owner() as owner:
        return {a["name"]: a for a in owner.get("/v1/apps/").json()["data"]}


def test_validate_needs_no_credentials(jobs: tuple[Runner, Runner, Any]) -> None:
    pr, _, _ = jobs
    env = {k: v for k, v in pr.env.items() if not k.startswith(("PHASE_", "RECONCILER_STATE"))}
    result = subprocess.run(
        ["bash", str(STEPS), "validate"], cwd=pr.checkout, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "environment variable 'PHASE_TOKEN' is not set" in result.stderr  # a note
    assert "valid (3 objects)" in result.stderr
    assert not (pr.checkout / "org" / ".reconciler").exists()  # no state store opened


def test_pr_plan_then_merge_applies_the_reviewed_plan(jobs: tuple[Runner, Runner, Any]) -> None:
    pr, merge, phase = jobs
    planned = pr.step("pr")
    assert planned.returncode == 0, planned.stderr
    comment = pr.read("plan.md")
    assert "phase.app.ci-demo" in comment
    saved = json.loads(pr.read("plan.json"))
    assert saved["spec"]["path"] == "org"  # relative to the plan file: any checkout finds it
    assert "ci-demo" not in apps(phase)

    applied = merge.step("merge", hand_over(pr, merge))
    assert applied.returncode == 0, applied.stderr
    assert "ci-demo" in apps(phase)
    summary = merge.read("summary.md")
    assert "## reconciler: the reviewed plan was applied" in summary
    assert "Apply complete" in summary
    assert "applied phase.app.ci-demo" in applied.stderr  # progress in the job log

    # The next pull request of the same spec has nothing to review.
    again = pr.step("pr")
    assert again.returncode == 0
    assert "No changes. Live state matches the spec." in pr.read("plan.md")


def test_stale_plan_is_refused_with_the_new_diff(jobs: tuple[Runner, Runner, Any]) -> None:
    pr, merge, phase = jobs
    assert pr.step("pr").returncode == 0
    assert merge.step("merge", hand_over(pr, merge)).returncode == 0
    for runner in (pr, merge):
        text = SPEC.replace("Reviewed in a pull request", "Reviewed twice")
        (runner.checkout / "org" / "phase.yaml").write_text(text, "utf-8")
    assert pr.step("pr").returncode == 0
    reviewed = hand_over(pr, merge)
    # Someone edits the app in the console after the review, before the merge job runs.
    app_id = apps(phase)["ci-demo"]["id"]
    with phase.owner() as owner:
        owner.put(f"/v1/apps/{app_id}/", json={"description": "edited in the console"})
    (merge.checkout / "summary.md").unlink()

    refused = merge.step("merge", reviewed)
    assert refused.returncode == 1
    assert "stale" in refused.stderr
    summary = merge.read("summary.md")
    assert "## reconciler: the reviewed plan was not applied" in summary
    assert "### What a plan would do now" in summary
    assert "edited in the console" in summary  # the new diff shows the live value
    assert apps(phase)["ci-demo"]["description"] == "edited in the console"  # nothing changed


def test_refused_plan_still_yields_a_comment(jobs: tuple[Runner, Runner, Any]) -> None:
    pr, merge, phase = jobs
    refusing = SPEC.replace("version: 1\n", "version: 1\nsafety: {max_deletes: 0}\n")
    refusing = refusing.replace("  apps:\n", "  prune: [apps]\n  apps:\n")
    (pr.checkout / "org" / "phase.yaml").write_text(refusing, "utf-8")
    result = pr.step("pr")
    assert result.returncode == 1
    comment = pr.read("plan.md")
    assert "**Plan refused:**" in comment and "max_deletes" in comment
    assert "**This plan cannot be applied** (reconciler exited 1):" in comment
    assert set(apps(phase)) >= {"legacy-api", "vault"}  # the seeded apps are untouched
    # The saved (refused) plan is never applied either.
    (merge.checkout / "org" / "phase.yaml").write_text(refusing, "utf-8")
    assert merge.step("merge", hand_over(pr, merge)).returncode == 1
    assert "max_deletes" in merge.read("summary.md")


def test_spec_error_yields_a_located_comment(jobs: tuple[Runner, Runner, Any]) -> None:
    pr, _, _ = jobs
    (pr.checkout / "org" / "phase.yaml").write_text(SPEC + "  bogus: 1\n", "utf-8")
    assert pr.step("pr").returncode == 1
    comment = pr.read("plan.md")
    assert re.search(r"org/phase\.yaml:\d+:\d+: unknown key 'bogus'", comment), comment


def test_merge_without_a_reviewed_plan_applies_nothing(jobs: tuple[Runner, Runner, Any]) -> None:
    _, merge, phase = jobs
    result = merge.step("merge", "reviewed/plan.json")
    assert result.returncode == 1
    assert "No reviewed plan" in merge.read("summary.md")
    assert "ci-demo" not in apps(phase)


def test_drift_step(jobs: tuple[Runner, Runner, Any]) -> None:
    pr, merge, phase = jobs
    assert pr.step("pr").returncode == 0
    assert merge.step("merge", hand_over(pr, merge)).returncode == 0
    assert merge.step("drift").returncode == 0
    app_id = apps(phase)["ci-demo"]["id"]
    with phase.owner() as owner:
        owner.put(f"/v1/apps/{app_id}/", json={"description": "drifted"})
    result = merge.step("drift")
    assert result.returncode == 2
    assert "phase.app.ci-demo" in merge.read("drift.html")
    assert "phase.app.ci-demo" in merge.read("summary.md")


def step_calls(text: str) -> set[str]:
    return set(re.findall(r'bash "\$STEPS" (\w+)', text))


@pytest.mark.parametrize("recipe", ["reconciler.yml", "gitlab-ci.yml"])
def test_recipes_call_exactly_these_steps(recipe: str) -> None:
    """The recipes run nothing of their own but platform glue (artifact download, comment):
    every reconciler step goes through steps.sh, with the subcommands tested above."""
    text = (CI / recipe).read_text("utf-8")
    loaded = yaml.safe_load(text)
    assert isinstance(loaded, dict)
    assert step_calls(text) == {"validate", "pr", "merge", "drift"}
    assert "reconciler apply" not in text and "--auto-approve" not in text
    assert "merge reviewed/plan.json" in text  # where the artifact is downloaded to
    assert re.search(r"STEPS: \S*steps\.sh", text)


def test_steps_usage() -> None:
    result = subprocess.run(["bash", str(STEPS), "nothing"], capture_output=True, text=True)
    assert result.returncode == 1 and "usage: steps.sh" in result.stderr
