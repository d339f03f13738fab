"""``read(only=...)``: a saved plan's verification re-reads only the collections holding the
objects it touches (and what they need), against the sandbox, counted in requests; what it
reads gives the same fingerprints as a full read, so staleness is still caught."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from reconciler import engine
from reconciler.cli.app import app
from reconciler.errors import StalePlanError
from reconciler.plan.change import Action

APPS = 98  # with the default organisation's legacy-api and vault: 100 apps


def setup(phase: Any, tmp: Path, spec: str) -> tuple[Path, dict[str, str]]:
    """A 100-app organisation with members, service accounts and their grants, and a spec."""
    phase.control(
        "POST",
        "seed/",
        {
            "apps": [{"name": f"app{i:03d}"} for i in range(APPS)],
            "members": [{"email": f"user{i}@acme.test"} for i in range(10)],
            "service_accounts": [
                {"name": f"robot{i}", "role": "Service", "access": {f"app{i:03d}": ["Production"]}}
                for i in range(5)
            ],
        },
    )
    path = tmp / "spec.yaml"
    path.write_text(spec)
    env = dict(os.environ, **phase.credentials, RECONCILER_STATE=str(tmp / "state.db"))
    return path, env


def get_requests(phase: Any) -> dict[str, int]:
    counters = phase.control("GET", "counters/")
    return {k: int(v) for k, v in counters.items() if k.startswith("GET ")}


def saved(path: Path, env: dict[str, str], tmp: Path) -> Path:
    """Plan the spec as it is now and save the plan (``plan --out``)."""
    out = tmp / "plan.json"
    with engine.Session(path, env=env) as session:
        engine.save_plan(session.make_plan(), out)
    return out


CONNECTION = """version: 1
phase:
  connection:
    url: ${env:PHASE_URL}
    token: ${env:PHASE_TOKEN}
    rate_limit: 60000
"""


def test_a_saved_plan_touching_one_app_rereads_two_lists_of_a_100_app_org(
    phase: Any, tmp_path: Path
) -> None:
    spec = CONNECTION + "  apps:\n    app007: {description: Payments}\n"
    path, env = setup(phase, tmp_path, spec)
    plan_file = saved(path, env, tmp_path)
    with engine.Session(path, env=env) as session:
        plan = engine.read_plan(plan_file)
        assert [(c.action, str(c.address)) for c in plan.executable] == [
            (Action.UPDATE, "phase.app.app007")
        ]
        phase.control("DELETE", "counters/")
        before = int(session.providers["phase"].stats()["requests"])  # type: ignore[call-overload]
        session.verify_saved_plan(plan)
        verified = get_requests(phase)
        spent = int(session.providers["phase"].stats()["requests"]) - before  # type: ignore[call-overload]
        # the caller's keys (every app's environments) and the app list; nothing else
        assert verified == {"GET /secrets/tokens/": 1, "GET /v1/apps/": 1}
        assert spent == sum(verified.values()) <= 3
        # a full read of the same organisation costs far more (a view per member, a detail
        # per service account, ...)
        phase.control("DELETE", "counters/")
        session.refresh()
        assert sum(get_requests(phase).values()) > 15
        result = session.apply_saved(plan)
        assert result.ok, [r.line() for r in result.results]
        assert session.make_plan().executable == ()


def test_apply_of_a_saved_plan_through_the_cli_reads_at_most_three_collections(
    phase: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``reconciler apply --plan`` as CI runs it: the organisation's identity for the lock,
    then the verification's re-read, then the one update."""
    spec = CONNECTION + "  apps:\n    app007: {description: Payments}\n"
    path, env = setup(phase, tmp_path, spec)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    runner = CliRunner()
    planned = runner.invoke(app, ["plan", str(path), "--out", str(tmp_path / "plan.json")])
    assert planned.exit_code == 0, planned.output
    phase.control("DELETE", "counters/")
    applied = runner.invoke(app, ["apply", "--plan", str(tmp_path / "plan.json")])
    assert applied.exit_code == 0, applied.output
    sent = {k: int(v) for k, v in phase.control("GET", "counters/").items() if k != "total"}
    reads = {k: v for k, v in sent.items() if k.startswith("GET ")}
    assert sum(reads.values()) <= 3, reads
    assert set(reads) == {"GET /secrets/tokens/", "GET /v1/apps/"}
    assert {k: v for k, v in sent.items() if not k.startswith("GET ")} == {
        "PUT /v1/apps/{app_id}/": 1
    }


def test_staleness_of_the_touched_app_is_caught_and_other_apps_are_not_read(
    phase: Any, tmp_path: Path
) -> None:
    spec = CONNECTION + "  apps:\n    app007: {description: Payments}\n"
    path, env = setup(phase, tmp_path, spec)
    plan_file = saved(path, env, tmp_path)
    with phase.owner() as owner:
        apps = {a["name"]: a["id"] for a in owner.get("/v1/apps/").json()["data"]}
        # out of band: another app changes (not read, not stale), then the touched one
        owner.put(f"/v1/apps/{apps['app050']}/", json={"description": "elsewhere"})
        with engine.Session(path, env=env) as session:
            session.verify_saved_plan(engine.read_plan(plan_file))
        owner.put(f"/v1/apps/{apps['app007']}/", json={"description": "meanwhile"})
    with engine.Session(path, env=env) as session, pytest.raises(StalePlanError) as stale:
        session.verify_saved_plan(engine.read_plan(plan_file))
    assert stale.value.addresses == ["phase.app.app007"]


PEOPLE = """  apps:
    app001: {}
    app002: {}
  members:
    user1@acme.test: {role: Developer, access: {app001: [Development]}}
    user2@acme.test: {role: Developer, access: {app002: [Staging]}}
  service_accounts:
    ci: {role: Service, access: {app001: [Production]}}
  teams:
    backend:
      description: Backend
      members: [user1@acme.test]
      service_accounts: [ci]
      access: {app002: [Development]}
"""


def test_partial_reads_of_principals_and_teams_match_the_full_read(
    phase: Any, tmp_path: Path
) -> None:
    """Members, service accounts, teams and an invite: the fingerprints a partial read gives
    equal a full read's (what teams grant, identity keys with the console login), so a plan
    touching them verifies, applies and converges."""
    console = "    email: ${env:PHASE_EMAIL}\n    password: ${env:PHASE_PASSWORD}\n"
    path, env = setup(phase, tmp_path, CONNECTION + console + PEOPLE)
    with engine.Session(path, env=env) as session:
        assert session.apply(session.make_plan()).ok
    path.write_text(
        CONNECTION
        + console
        + PEOPLE.replace("app001: [Development]}", "app001: [Development, Staging]}")
        .replace("{role: Service, access: {app001: [Production]}}", "{role: Service}")
        .replace("description: Backend", "description: Backend services")
        .replace(
            "  service_accounts:\n    ci",
            "    new@acme.test: {role: Developer}\n  service_accounts:\n    ci",
        )
    )
    plan_file = saved(path, env, tmp_path)
    with engine.Session(path, env=env) as session:
        plan = engine.read_plan(plan_file)
        touched = sorted(str(c.address) for c in plan.changes)
        assert touched == [
            "phase.member.new@acme.test",
            "phase.member.user1@acme.test",
            "phase.service_account.ci",
            "phase.team.backend",
        ]
        phase.control("DELETE", "counters/")
        session.verify_saved_plan(plan)  # not stale: the partial read matches the plan's
        partial = get_requests(phase)
        assert "GET /v1/service-accounts/{sa_id}/" in partial  # ci's detail only
        assert partial["GET /v1/service-accounts/{sa_id}/"] == 1
        assert partial["GET /v1/members/{member_id}/access/"] == 1  # user1's view only
        result = session.apply_saved(plan)
        assert result.ok, [r.line() for r in result.results]
        assert session.make_plan().executable == ()
