"""The README's set-up commands are the ones CI and users run; keep them true."""

from __future__ import annotations

import re
from pathlib import Path

from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text("utf-8")


def _commands() -> list[str]:
    return re.findall(r"```sh\n(.+?)\n```", README)


def test_readme_states_the_two_setup_commands() -> None:
    main_job, tests = _commands()[:2]
    install = "python3 -m venv .venv && .venv/bin/pip install -q -e '.[dev]'"
    assert main_job == f"{install} && bash examples/quickstart.sh"
    assert tests == f"{install} && .venv/bin/pytest -n auto"
    assert (ROOT / "examples" / "quickstart.sh").is_file()


def test_ci_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text("utf-8")
    install, run = _commands()[1].rsplit(" && ", 1)
    assert install in ci
    assert ci.rstrip().splitlines()[-1] == run


def test_quickstart_uses_an_example_that_exists() -> None:
    script = (ROOT / "examples" / "quickstart.sh").read_text("utf-8")
    spec = re.search(r"^spec=(\S+)$", script, re.M)
    assert spec is not None and (ROOT / spec.group(1)).is_dir()


def test_ci_workflow_has_plan_apply_and_drift_jobs() -> None:
    workflow = YAML(typ="safe").load((ROOT / "examples" / "ci" / "reconciler.yml").read_text())
    jobs = workflow["jobs"]
    assert set(jobs) == {"plan", "apply", "drift"}
    triggers = workflow[True] if True in workflow else workflow["on"]  # YAML 1.1 reads `on` as True
    assert {"pull_request", "push", "schedule"} <= set(triggers)
    scripts = {
        name: " ".join(str(s.get("run", "")) for s in job["steps"]) for name, job in jobs.items()
    }
    # Every step is in examples/ci/steps.sh (tests/cli/test_ci_recipe.py runs it): the PR job
    # plans, the merge job applies the reviewed plan (never --auto-approve), the nightly drifts.
    assert 'bash "$STEPS" pr' in scripts["plan"]
    assert 'bash "$STEPS" merge reviewed/plan.json' in scripts["apply"]
    assert "--auto-approve" not in scripts["apply"]
    assert 'bash "$STEPS" drift' in scripts["drift"]
