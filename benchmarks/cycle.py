"""The measured cycle the scale benchmarks share: plan, apply, then the converged re-plan of
one session, each timed with the requests it sent; and the process's peak resident memory."""

from __future__ import annotations

import resource
import time

from reconciler import engine

# the table columns of that cycle, after the size column (``table.report``)
OBJECTS_AND_CHANGES = [("objects", "objects"), ("changes", "changes")]
CYCLE = [
    ("plan req", "plan_req"), ("plan s", "plan_s"), ("apply req", "apply_req"),
    ("apply s", "apply_s"), ("re-plan req", "replan_req"), ("re-plan s", "replan_s"),
]  # fmt: skip
PEAK = [("peak RSS MiB", "peak_mib")]


def requests(session: engine.Session, provider: str) -> int:
    """Requests the provider has sent since the session opened (``kit.http`` stats)."""
    return int(session.providers[provider].stats()["requests"])  # type: ignore[call-overload]


def plan_apply_replan(session: engine.Session, provider: str) -> dict[str, float]:
    """Plan, apply (concurrency 4; it must succeed) and re-plan (it must be empty): seconds and
    requests of each (``plan_s``, ``plan_req``, …) and the plan's executable ``changes``."""
    out: dict[str, float] = {}
    t, r = time.monotonic(), requests(session, provider)
    plan = session.make_plan()
    out["plan_s"], out["plan_req"] = time.monotonic() - t, requests(session, provider) - r
    out["changes"] = len(plan.executable)
    t, r = time.monotonic(), requests(session, provider)
    result = session.apply(plan, concurrency=4)
    assert result.ok, [x.line() for x in result.results if not x.ok][:3]
    out["apply_s"], out["apply_req"] = time.monotonic() - t, requests(session, provider) - r
    t, r = time.monotonic(), requests(session, provider)
    again = session.make_plan()
    assert again.empty, [str(c.address) for c in again.executable][:5]
    out["replan_s"], out["replan_req"] = time.monotonic() - t, requests(session, provider) - r
    return out


def peak_mib() -> float:
    """Peak resident memory of the process, sandbox included (tracemalloc would slow every
    step)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
