"""Several systems in one spec set: a ``phase:`` section (the sandbox, over HTTP) and a
``memory:`` section planned and applied in one run, each provider under its own target lock,
a failed change stopping only its dependents, and plans, reports and stats grouped per provider.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest

from reconciler import engine
from reconciler.address import Address
from reconciler.apply.result import Event, Status
from reconciler.errors import LockedError
from reconciler.plan.change import Action
from reconciler.plan.plan import Plan
from reconciler.plan.render import render_json, render_markdown, render_text, stats_lines
from reconciler.sandbox.server import Sandbox

SPECS = Path(__file__).resolve().parents[2] / "specs"
SPEC = """\
version: 1
phase:
  connection:
    url: ${env:PHASE_URL}
    token: ${env:PHASE_TOKEN}
  prune: [roles, service_accounts]
  roles:
    Multi Auditor: {description: Reads apps, permissions: {Apps: [read]}}
  apps:
    multi-api:
      description: One spec set, two systems
      environments: [Development, Production]
  service_accounts:
    multi-bot: {role: Service, access: {multi-api: [Production]}}
memory:
  connection: {path: "${env:MEMORY_PATH}"}
  prune: [groups, items]
  groups:
    backend: {description: Backend services}
  items:
    api: {group: backend, value: "1", token: "${env:MEMORY_TOKEN}"}
    web: {group: backend}
"""
APP = Address("phase", "app", "multi-api")


@pytest.fixture
def env(phase_sandbox: Sandbox, tmp_path: Path) -> Iterator[dict[str, str]]:
    credentials = httpx.post(f"{phase_sandbox.url}/_sandbox/reset/", timeout=10).json()
    yield {
        "PHASE_URL": credentials["PHASE_URL"],
        "PHASE_TOKEN": credentials["PHASE_TOKEN"],
        "MEMORY_PATH": str(tmp_path / "memory.json"),
        "MEMORY_TOKEN": "tok-multi-7f3a",
        "RECONCILER_FINGERPRINT_KEY": "3c" * 32,
        "RECONCILER_STATE": str(tmp_path / "state.db"),
    }
    faults(credentials["PHASE_URL"], None)


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    path = tmp_path / "org" / "org.yaml"
    path.parent.mkdir()
    path.write_text(SPEC, encoding="utf-8")
    return path


def faults(url: str, body: dict[str, Any] | None) -> None:
    """Set (or, with ``None``, clear) the sandbox's injected faults."""
    method = "DELETE" if body is None else "POST"
    httpx.request(method, f"{url}/_sandbox/faults/", json=body, timeout=10).raise_for_status()


def phase_apps(env: dict[str, str]) -> list[str]:
    headers = {"Authorization": f"Bearer User {env['PHASE_TOKEN'].split(':')[2]}"}
    answer = httpx.get(f"{env['PHASE_URL']}/v1/apps/", headers=headers, timeout=10)
    return sorted(app["name"] for app in answer.raise_for_status().json()["data"])


def test_phase_and_memory_plan_and_apply_in_one_run_then_plan_empty(
    spec: Path, env: dict[str, str]
) -> None:
    with engine.Session(spec, env=env) as session:
        assert list(session.providers) == ["memory", "phase"]
        plan = session.make_plan()
        assert not plan.refused, plan.violations
        assert {c.address.provider for c in plan.executable} == {"memory", "phase"}
        result = session.apply(plan)
        assert result.ok, [r.line() for r in result.results if r.status is not Status.APPLIED]
        groups = result.by_provider()
        assert set(groups) == {"memory", "phase"}
        assert groups["memory"]["applied"] == 3 and groups["phase"]["applied"] >= 4
        assert result.to_dict()["providers"] == groups
    with engine.Session(spec, env=env) as session:
        again = session.make_plan()
    assert again.empty, [str(c.address) for c in again.executable]
    assert "multi-api" in phase_apps(env)
    live = json.loads(Path(env["MEMORY_PATH"]).read_text())["objects"]
    assert set(live) == {"memory.group.backend", "memory.item.api", "memory.item.web"}


def test_plan_report_and_stats_are_grouped_per_provider(spec: Path, env: dict[str, str]) -> None:
    with engine.Session(spec, env=env) as session:
        plan = session.make_plan()
        text = render_text(plan)
        # A heading with each provider's counts, then that provider's changes only.
        memory_at = text.index("memory: 3 to create, 0 to update, 0 to delete, 0 deferred")
        phase_at = text.index("phase: ")
        assert memory_at < text.index("  + memory.item.api") < phase_at
        assert phase_at < text.index("  + phase.app.multi-api")
        assert "memory." not in text[phase_at:]
        document = json.loads(render_json(plan))
        jsonschema.validate(document, json.loads((SPECS / "plan.schema.json").read_text()))
        assert document["providers"]["memory"] == {
            "create": 3,
            "update": 0,
            "delete": 0,
            "deferred": 0,
        }
        assert document["providers"]["phase"]["create"] == plan.counts()["create"] - 3
        markdown = render_markdown(plan)
        assert "| provider | create | update | delete | deferred |" in markdown
        assert "| memory | 3 | 0 | 0 | 0 |" in markdown and "| **total** |" in markdown

        stats = plan.stats
        providers = stats["providers"]
        assert isinstance(providers, dict)
        assert providers["phase"]["requests"] > 0 and "read_seconds" in providers["phase"]
        assert providers["memory"]["requests"] == 1
        lines = stats_lines(stats)
        assert lines[0].startswith("requests memory: 1 (read ")
        phase_line = next(i for i, line in enumerate(lines) if line.startswith("requests phase:"))
        assert "retries 0, throttled 0; read " in lines[phase_line]
        assert lines[-1].startswith("wall time: ")

        result = session.apply(plan)
        assert result.provider_lines() == [
            "memory: 3 applied, 0 skipped, 0 failed, 0 deferred",
            f"phase: {len(plan.executable) - 3} applied, 0 skipped, 0 failed, 0 deferred",
        ]


def test_each_provider_applies_under_its_own_target_lock(spec: Path, env: dict[str, str]) -> None:
    with engine.Session(spec, env=env) as session:
        plan = session.make_plan()
        targets = engine.plan_targets(plan, session.providers)
        assert set(targets) == {"memory", "phase"}
        assert targets["phase"].startswith("phase:") and targets["memory"].startswith("memory:")
        blocked: dict[str, bool] = {}

        def probe(event: Event) -> None:
            # While the apply runs, another run can take neither target's lock.
            if event.kind == "started" and not blocked:
                for name, target in targets.items():
                    try:
                        with session.store.lock(target, "another run"):
                            blocked[name] = False
                    except LockedError:
                        blocked[name] = True

        assert session.apply(plan, concurrency=1, on_event=probe).ok
        assert blocked == {"memory": True, "phase": True}
        assert session.store.lock_info(targets["phase"]) is None  # released after the apply

    # A plan that changes only memory does not need the Phase target: a Phase apply elsewhere
    # does not block it.
    data = json.loads(Path(env["MEMORY_PATH"]).read_text())
    data["objects"]["memory.item.web"]["attributes"]["value"] = "edited by hand"
    Path(env["MEMORY_PATH"]).write_text(json.dumps(data))
    with engine.Session(spec, env=env) as session:
        plan = session.make_plan()
        assert {c.address.provider for c in plan.executable} == {"memory"}
        with session.store.lock(targets["phase"], "a phase apply"):
            assert session.apply(plan).ok


def test_a_failed_phase_change_stops_only_its_dependents(spec: Path, env: dict[str, str]) -> None:
    with engine.Session(spec, env=env) as session:
        plan = session.make_plan()
        # The server refuses to create the app (a definite 400, not an ambiguous failure).
        faults(env["PHASE_URL"], {"errors": 5, "error_status": 400, "only": "POST /v1/apps/"})
        try:
            result = session.apply(plan)
        finally:
            faults(env["PHASE_URL"], None)
    status = {str(r.address): r for r in result.results}
    assert status[str(APP)].status is Status.FAILED
    assert status[str(APP)].message and "\n" not in status[str(APP)].message
    dependents = {
        str(c.address)
        for c in plan.executable
        if c.address.provider == "phase" and c.address != APP and APP in _closure(plan, c.address)
    }
    assert dependents, "the app should have dependents in this plan"
    for address in dependents:
        assert status[address].status is Status.SKIPPED, status[address]
        assert "depends on failed" in (status[address].message or "")
    # Independent changes, of memory and of Phase, still applied.
    independent = {str(c.address) for c in plan.executable} - dependents - {str(APP)}
    assert "phase.role.Multi Auditor" in independent
    assert {a for a in independent if a.startswith("memory.")} == {
        "memory.group.backend",
        "memory.item.api",
        "memory.item.web",
    }
    for address in independent:
        assert status[address].status is Status.APPLIED, status[address]
    assert result.by_provider()["memory"]["applied"] == 3
    assert not result.ok
    assert "multi-api" not in phase_apps(env)

    # Running again completes the work: only what is missing is planned, then nothing.
    with engine.Session(spec, env=env) as session:
        rest = session.make_plan()
        assert {c.address.provider for c in rest.executable} == {"phase"}
        assert all(c.action is Action.CREATE for c in rest.executable)
        assert session.apply(rest).ok
        assert session.make_plan().empty
    assert phase_apps(env).count("multi-api") == 1


def _closure(plan: Plan, address: Address) -> set[Address]:
    """Every address ``address`` depends on in ``plan``, transitively."""
    edges = {c.address: set(c.depends_on) for c in plan.changes}
    seen: set[Address] = set()
    frontier = [address]
    while frontier:
        for dep in edges.get(frontier.pop(), set()):
            if dep not in seen:
                seen.add(dep)
                frontier.append(dep)
    return seen


def test_the_cli_plans_and_applies_both_systems_in_one_run(
    spec: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from reconciler.cli.app import app

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("NO_COLOR", "1")
    runner = CliRunner()
    plan = runner.invoke(app, ["plan", str(spec), "--stats", "--detailed-exitcode"])
    assert plan.exit_code == 2, plan.output
    assert "memory: 3 to create, 0 to update, 0 to delete, 0 deferred" in plan.stdout
    assert "\nphase: " in plan.stdout and "  + phase.app.multi-api" in plan.stdout
    assert "requests memory: 1 (read " in plan.stderr and "requests phase: " in plan.stderr
    applied = runner.invoke(app, ["apply", str(spec), "--auto-approve"])
    assert applied.exit_code == 0, applied.output
    assert "Apply complete" in applied.stdout
    assert "  memory: 3 applied, 0 skipped, 0 failed, 0 deferred" in applied.stdout
    assert "  phase: " in applied.stdout
    again = runner.invoke(app, ["plan", str(spec), "--detailed-exitcode"])
    assert again.exit_code == 0, again.output
    assert env["MEMORY_TOKEN"] not in plan.output + applied.output
