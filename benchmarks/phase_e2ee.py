"""Requests, wall time and crypto time of end-to-end encrypted grants at growing sizes.

For N members the spec grants each of them both environments of the sandbox's E2EE app
``vault`` and one environment of an SSE app, through the console login. Every grant unwraps
the applier's environment key and wraps it for the member (two ``ph:v1`` wraps per environment:
seed and salt). It runs against an in-process sandbox (loopback HTTP, no throttle) and prints,
per size: requests and seconds of the first plan, the apply (with the seconds spent in
key wrapping, CPU), the converged re-plan, then of a change of every member's E2EE scope (one
console step each, no REST access update), and the peak resident memory of the process
(sandbox included).

Usage: .venv/bin/python benchmarks/phase_e2ee.py [SIZES...]   (default: 10 100 500)
"""

from __future__ import annotations

import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import httpx
from table import report

from reconciler import engine
from reconciler.providers.phase import e2ee
from reconciler.sandbox.server import Sandbox


def spec_text(n: int, vault: str) -> str:
    lines = [
        "version: 1",
        "phase:",
        "  connection:",
        "    url: ${env:PHASE_URL}",
        "    token: ${env:PHASE_TOKEN}",
        "    email: ${env:PHASE_EMAIL}",
        "    password: ${env:PHASE_PASSWORD}",
        "    rate_limit: 60000",  # the spec's bound: 1000 a second
        "  apps:",
        "    legacy-api: {description: The old monolith}",
        "    vault: {sse: false, environments: [Development, Production]}",
        "  members:",
    ]
    lines += [
        f"    user{i:04d}@acme.test: {{access: {{vault: {vault}, legacy-api: [Development]}}}}"
        for i in range(n)
    ]
    return "\n".join(lines) + "\n"


class WrapTimer:
    """CPU seconds of the applying threads in ``KeyHolder.env_keys`` (unwrap + wrap), measured
    around the real call with ``time.thread_time`` (wall time would count the in-process
    sandbox's threads holding the interpreter lock)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.original = e2ee.KeyHolder.env_keys

    def __enter__(self) -> WrapTimer:
        timer, original = self, self.original

        def timed(self: e2ee.KeyHolder, *args: object, **kwargs: object) -> object:
            started = time.thread_time()
            try:
                return original(self, *args, **kwargs)  # type: ignore[arg-type]
            finally:
                timer.seconds += time.thread_time() - started

        e2ee.KeyHolder.env_keys = timed  # type: ignore[assignment,method-assign]
        return self

    def __exit__(self, *_: object) -> None:
        e2ee.KeyHolder.env_keys = self.original  # type: ignore[method-assign]


def run(n: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp, Sandbox() as sandbox:
        members = [{"email": f"user{i:04d}@acme.test"} for i in range(n)]
        httpx.post(f"{sandbox.url}/_sandbox/seed/", json={"members": members}, timeout=60)
        spec = Path(tmp) / "spec.yaml"
        spec.write_text(spec_text(n, "[Development, Production]"))
        env = dict(os.environ, **sandbox.credentials, RECONCILER_STATE=f"{tmp}/state.db")
        out: dict[str, float] = {}

        def measure(label: str) -> None:
            with engine.Session(spec, env=env) as session, WrapTimer() as wraps:
                provider = session.providers["phase"]

                def requests() -> int:
                    return int(provider.stats()["requests"])  # type: ignore[call-overload]

                t, r = time.monotonic(), requests()
                plan = session.make_plan()
                assert not plan.refused, plan.violations
                out[f"{label}_plan_s"], out[f"{label}_plan_req"] = (
                    time.monotonic() - t,
                    requests() - r,
                )
                t, r = time.monotonic(), requests()
                result = session.apply(plan, concurrency=4)
                assert result.ok, [x.line() for x in result.results if not x.ok][:3]
                out[f"{label}_apply_s"], out[f"{label}_apply_req"] = (
                    time.monotonic() - t,
                    requests() - r,
                )
                out[f"{label}_wrap_s"] = wraps.seconds
                t, r = time.monotonic(), requests()
                again = session.make_plan()
                assert again.empty, [str(c.address) for c in again.executable][:5]
                out["replan_s"], out["replan_req"] = time.monotonic() - t, requests() - r

        measure("grant")
        spec.write_text(spec_text(n, "[Production]"))
        measure("change")
        # peak RSS of the whole process (the in-process sandbox included); tracemalloc would
        # slow every step several times over
        out["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return out


def main(argv: list[str]) -> int:
    columns = [
        ("plan req", "grant_plan_req"), ("plan s", "grant_plan_s"),
        ("apply req", "grant_apply_req"), ("apply s", "grant_apply_s"),
        ("wrap s", "grant_wrap_s"), ("re-plan req", "replan_req"), ("re-plan s", "replan_s"),
        ("change apply req", "change_apply_req"), ("change apply s", "change_apply_s"),
        ("peak RSS MiB", "peak_mib"),
    ]  # fmt: skip
    return report(columns, [int(a) for a in argv] or [10, 100, 500], run)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
