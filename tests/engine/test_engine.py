"""Engine steps over the memory provider: refresh overlay, saved-plan checks, apply guards."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler import engine
from reconciler.address import Address
from reconciler.errors import ApplyError, LockedError, PlanRefused, StalePlanError
from reconciler.plan.change import Action
from reconciler.plan.plan import Plan, Violation
from reconciler.providers.registry import plugins
from reconciler.secrets.value import Secret

TOKEN = "tok-engine-5d2e"
API = Address("memory", "item", "api")
SPEC = """\
version: 1
memory:
  connection: {path: "${env:MEMORY_PATH}"}
  prune: [groups, items]
  groups:
    backend: {description: Backend}
  items:
    api: {group: backend, value: "1", token: "${env:MEMORY_TOKEN}"}
"""


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        "MEMORY_PATH": str(tmp_path / "live.json"),
        "MEMORY_TOKEN": TOKEN,
        "RECONCILER_FINGERPRINT_KEY": "ab" * 32,
    }


@pytest.fixture
def spec_path(tmp_path: Path) -> Path:
    path = tmp_path / "org.yaml"
    path.write_text(SPEC, encoding="utf-8")
    return path


@pytest.fixture
def session(spec_path: Path, env: dict[str, str]) -> Iterator[engine.Session]:
    with engine.Session(spec_path, env=env) as s:
        yield s


def live_objects(env: dict[str, str]) -> dict[str, dict[str, object]]:
    data: dict[str, dict[str, object]] = json.loads(Path(env["MEMORY_PATH"]).read_text())["objects"]
    return data


def test_store_next_to_spec_and_desired_fingerprinted(
    session: engine.Session, spec_path: Path
) -> None:
    assert (spec_path.parent / ".reconciler" / "state.db").exists()
    api = session.spec.desired[API]
    assert api.attributes["token"] == Secret(TOKEN).fingerprint(bytes.fromhex("ab" * 32))
    assert [s.reveal() for s in engine.spec_secrets(session.spec)] == [TOKEN]


def test_refresh_overlays_fingerprints_unless_recreated(
    session: engine.Session, env: dict[str, str], spec_path: Path
) -> None:
    assert session.apply(session.make_plan()).ok
    live = session.refresh()
    assert live[API].attributes["token"] == session.spec.desired[API].attributes["token"]
    only = session.refresh(only=frozenset({API}))
    assert list(only) == [API]

    # Recreated by hand (new server id): the write-only value is unknown again.
    data = json.loads(Path(env["MEMORY_PATH"]).read_text())
    data["objects"][str(API)]["id"] = "recreated"
    Path(env["MEMORY_PATH"]).write_text(json.dumps(data))
    with engine.Session(spec_path, env=env) as fresh:  # the memory system reads its file once
        assert fresh.refresh()[API].attributes["token"] is None
        assert [c.address for c in fresh.make_plan().executable] == [API]


def test_saved_plan_round_trip_reattaches_secrets(
    session: engine.Session, tmp_path: Path, env: dict[str, str]
) -> None:
    plan = session.make_plan()
    path = tmp_path / "p.json"
    engine.save_plan(plan, path)
    loaded = engine.read_plan(path)
    assert loaded.digest == plan.digest
    create = next(c for c in loaded.changes if c.address == API)
    assert create.desired is not None and not create.desired.secrets  # masked in the file

    verified = session.verify_saved_plan(loaded)
    create = next(c for c in verified.changes if c.address == API)
    assert create.desired is not None and create.desired.secrets["token"].reveal() == TOKEN
    assert session.apply(verified).ok
    assert session.make_plan().empty


def test_stale_plan_carries_replan(
    session: engine.Session, env: dict[str, str], spec_path: Path
) -> None:
    assert session.apply(session.make_plan()).ok
    empty = session.make_plan()
    assert empty.empty
    data = json.loads(Path(env["MEMORY_PATH"]).read_text())
    data["objects"][str(API)]["attributes"]["value"] = "by hand"
    Path(env["MEMORY_PATH"]).write_text(json.dumps(data))
    session.close()
    session = engine.Session(spec_path, env=env)  # the memory system reads its file once
    # The empty plan touched nothing, so it is not stale; a plan that touches api is.
    assert session.verify_saved_plan(empty).empty
    touching = dataclasses.replace(empty, live_fingerprints={str(API): "0" * 64})
    with pytest.raises(StalePlanError) as info:
        session.verify_saved_plan(touching)
    assert info.value.addresses == [str(API)]
    replan = info.value.replan
    assert isinstance(replan, Plan) and [c.address for c in replan.executable] == [API]
    session.close()


def test_saved_plan_of_another_spec_is_refused(session: engine.Session) -> None:
    plan = dataclasses.replace(session.make_plan(), spec_digest="f" * 64)
    with pytest.raises(ApplyError, match="spec changed"):
        session.verify_saved_plan(plan)


def test_read_plan_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ApplyError, match=r"bad\.json:1:2: not JSON"):
        engine.read_plan(bad)
    bad.write_text(json.dumps({"format": "other"}))
    with pytest.raises(ApplyError, match=r"not a reconciler\.plan/v1 plan"):
        engine.read_plan(bad)
    with pytest.raises(ApplyError, match="cannot read plan"):
        engine.read_plan(tmp_path / "missing.json")


def test_apply_refuses_refused_plan_and_locks_targets(session: engine.Session) -> None:
    plan = session.make_plan()
    refused = dataclasses.replace(plan, violations=(Violation("max_deletes", (API,), "too many"),))
    with pytest.raises(PlanRefused, match=r"\[max_deletes\]"):
        session.apply(refused)
    target = session.providers["memory"].target()
    with session.store.lock(target, "someone"), pytest.raises(LockedError, match="someone"):
        session.apply(plan)
    result = session.apply(plan, holder="me")
    assert result.ok and all(r.action is Action.CREATE for r in result.results)


def test_connection_template_uses_env_references() -> None:
    assert engine.connection_template(plugins()["memory"]) == {"path": "${env:MEMORY_PATH}"}
