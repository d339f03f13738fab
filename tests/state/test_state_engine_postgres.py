"""The engine's convergence property with its state in PostgreSQL: for any desired and live
memory states, apply(plan) then plan is empty, plans are deterministic; and runners that share
only the database and ``RECONCILER_SECRET_KEY`` agree on write-only fingerprints.

The strategies are the engine suite's own (``tests/engine/test_engine_convergence.py``), loaded
by path so both backends are exercised by one definition of the property.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from hypothesis import HealthCheck, given, settings
from pgcluster import Cluster, cluster

from reconciler import engine
from reconciler.state.postgres import PostgresStateStore

_path = Path(__file__).resolve().parents[1] / "engine" / "test_engine_convergence.py"
_spec = importlib.util.spec_from_file_location("engine_convergence_strategies", _path)
assert _spec is not None and _spec.loader is not None
convergence = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(convergence)

_database: dict[str, str] = {}


def database(pg: Cluster) -> str:
    """One database for this module (hypothesis runs many examples in one test call)."""
    if "url" not in _database:
        _database["url"] = pg.new_database()
    return _database["url"]


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(convergence.desired(), convergence.live())
def test_apply_then_plan_is_empty_with_postgres_state(
    d: dict[str, Any], objects: dict[str, Any]
) -> None:
    from reconciler.plan.render import render_text

    url = database(cluster())
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "live.json").write_text(json.dumps({"objects": objects}))
        spec = root / "spec.yaml"
        spec.write_text(convergence.spec_text(d))
        env = {
            "MEMORY_PATH": str(root / "live.json"),
            "TOKEN_T_ONE": "t-one",
            "TOKEN_T_TWO": "t-two",
            "RECONCILER_FINGERPRINT_KEY": "cd" * 32,
            # A namespace per example: a fresh state, one database.
            "RECONCILER_STATE": f"{url}#{uuid.uuid4().hex}",
        }
        with engine.Session(spec, env=env) as session:
            assert isinstance(session.store, PostgresStateStore)
            first = session.make_plan(allow_deletes=True)
            second = session.make_plan(allow_deletes=True)
            assert first.digest == second.digest
            assert render_text(first, False) == render_text(second, False)
            assert not first.refused, first.violations
            result = session.apply(first)
            assert result.ok, [r.line() for r in result.results]
        # A new session (a new runner process) sees the same state.
        with engine.Session(spec, env=env) as session:
            after = session.make_plan(allow_deletes=True)
            assert after.empty, [f"{c.action} {c.address} {c.diffs}" for c in after.changes]
        assert not (root / ".reconciler").exists()  # nothing kept beside the spec


SPEC = """\
version: 1
memory:
  connection: {path: "${env:MEMORY_PATH}"}
  groups: {backend: {}}
  items:
    api: {group: backend, value: "1", token: "${env:API_TOKEN}"}
"""


def test_runners_sharing_the_database_agree_on_fingerprints(pg: Cluster) -> None:
    """Two machines: separate working copies, one live system, one database, one Fernet key;
    no fingerprint key anywhere. The second finds nothing to change; a rotated token shows."""
    url = pg.new_database()
    secret = Fernet.generate_key().decode()
    live = Path(tempfile.mkdtemp()) / "live.json"
    checkouts = [Path(tempfile.mkdtemp()) for _ in range(2)]
    try:
        for checkout in checkouts:
            (checkout / "org.yaml").write_text(SPEC)

        def env(token: str) -> dict[str, str]:
            return {
                "MEMORY_PATH": str(live),
                "API_TOKEN": token,
                "RECONCILER_STATE": url,
                "RECONCILER_SECRET_KEY": secret,
            }

        with engine.Session(checkouts[0] / "org.yaml", env=env("tok-1")) as one:
            assert one.apply(one.make_plan()).ok
        with engine.Session(checkouts[1] / "org.yaml", env=env("tok-1")) as two:
            assert two.make_plan().empty
        with engine.Session(checkouts[1] / "org.yaml", env=env("tok-2")) as two:
            changed = two.make_plan()
            assert [str(c.address) for c in changed.executable] == ["memory.item.api"]
        for checkout in checkouts:
            assert not (checkout / ".reconciler").exists()
    finally:
        for path in (live.parent, *checkouts):
            shutil.rmtree(path, ignore_errors=True)
