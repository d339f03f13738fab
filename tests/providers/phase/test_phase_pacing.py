"""The pacing budget outlives the process: ``apply`` then ``plan`` within the same minute, against
a sandbox whose throttle is on at the limit the spec states, meet no 429.

The sandbox keeps one sliding-minute window per principal, as a Phase server does. Two runs
that each start with a fresh token bucket would together send more than the limit within the
minute and meet 429s; the state store hands the first run's slots to the second, which waits
for them instead. The counts of both runs come from a first, unthrottled pass, so the test
holds whatever the number of requests a read takes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from reconciler.cli.app import app
from reconciler.engine.session import Session
from reconciler.sandbox.server import Sandbox

SPEC = """\
version: 1
phase:
  connection:
    url: ${{env:PHASE_URL}}
    token: ${{env:PHASE_TOKEN}}
    rate_limit: {rate}
  apps:
    billing:
      environments: [Development, Production]
    ledger:
      description: The books
      environments: [Development]
"""


def _write(folder: Path, rate: int) -> Path:
    folder.mkdir()
    (folder / "phase.yaml").write_text(SPEC.format(rate=rate))
    return folder


def _runs(spec: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> tuple[Any, str]:
    """``apply`` through the engine, then ``plan --stats`` through the CLI, one state store:
    the apply's provider stats and the plan's stderr."""
    with Session(spec, env=env) as session:
        result = session.apply(session.make_plan())
        assert result.ok, [r.message for r in result.results if r.message]
        applied = session.providers["phase"].stats()
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    planned = CliRunner().invoke(
        app, ["plan", str(spec), "--stats", "--detailed-exitcode"], catch_exceptions=False
    )
    assert planned.exit_code == 0, planned.output  # converged: nothing left to do
    return applied, planned.stderr


def _requests(stderr: str) -> tuple[int, int]:
    """``(requests, throttled)`` of the phase provider from ``plan --stats``."""
    line = next(x for x in stderr.splitlines() if x.startswith("requests phase: "))
    count = int(line.split(": ", 1)[1].split(" ", 1)[0])
    throttled = int(line.split("throttled ", 1)[1].split(";", 1)[0].rstrip(")"))
    return count, throttled


@pytest.mark.e2e
@pytest.mark.slow
def test_apply_then_plan_within_a_minute_meet_no_429(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    counts: list[tuple[int, int]] = []
    for name, rate in (("measure", 10_000), ("throttled", 0)):
        # the first pass, unthrottled, counts both runs' requests; the second states a limit
        # one request short of what both runs send, so only a budget shared between them
        # keeps the second run clear of 429s
        limit = rate or sum(counts[0]) - 1
        with Sandbox(rate_limit=None if rate else limit) as sandbox:
            creds = httpx.post(f"{sandbox.url}/_sandbox/reset/", timeout=10).json()
            env = {**creds, "RECONCILER_STATE": str(tmp_path / f"{name}.db")}
            spec = _write(tmp_path / name, rate or limit)
            applied, stderr = _runs(spec, env, monkeypatch)
        planned, plan_throttled = _requests(stderr)
        assert applied["throttled"] == 0 and plan_throttled == 0, (name, applied, stderr)
        counts.append((int(applied["requests"]), planned))
        assert "  GET /v1/apps/: " in stderr  # requests by route
    assert counts[1] == counts[0]  # the same work, paced instead of refused
