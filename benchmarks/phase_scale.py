"""Requests and wall time of plan and apply for Phase organisations of growing size.

For N apps the generated spec has N apps (three environments each), N/2 members with grants
on two apps each, N/10 service accounts with one grant each and N/20 teams. It runs against an
in-process sandbox (loopback HTTP, no throttle) and prints, per size: requests and seconds of the
first plan, the apply, the converged re-plan, the requests a per-resource refresh would need
(one GET per live object: apps, environments, members' access, SAs, teams, roles), and the
peak resident memory of the process (sandbox included; sizes run in order, so it only grows).

Usage: .venv/bin/python benchmarks/phase_scale.py [SIZES...]   (default: 10 100 1000)
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import httpx
from cycle import CYCLE, OBJECTS_AND_CHANGES, PEAK, peak_mib, plan_apply_replan
from table import report

from reconciler import engine
from reconciler.sandbox.server import Sandbox


def spec_text(n: int) -> str:
    lines = [
        "version: 1",
        "phase:",
        "  connection:",
        "    url: ${env:PHASE_URL}",
        "    token: ${env:PHASE_TOKEN}",
        "    rate_limit: 60000",  # the spec's bound: 1000 a second
        "  apps:",
    ]
    lines += [f"    app{i:04d}: {{description: App {i}}}" for i in range(n)]
    lines.append("  service_accounts:")
    lines += [
        f"    sa{i:04d}: {{access: {{app{i:04d}: [Production]}}}}" for i in range(max(1, n // 10))
    ]
    lines.append("  members:")
    for i in range(max(1, n // 2)):
        a, b = f"app{(2 * i) % n:04d}", f"app{(2 * i + 1) % n:04d}"
        lines.append(
            f"    user{i:04d}@acme.test: {{role: Developer, access: {{{a}: [Development], "
            f"{b}: [Development, Staging]}}}}"
        )
    lines.append("  teams:")
    for i in range(max(1, n // 20)):
        lines.append(f"    team{i:03d}: {{access: {{app{i:04d}: [Staging]}}}}")
    return "\n".join(lines) + "\n"


def run(n: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp, Sandbox() as sandbox:
        members = [{"email": f"user{i:04d}@acme.test"} for i in range(max(1, n // 2))]
        httpx.post(f"{sandbox.url}/_sandbox/seed/", json={"members": members}, timeout=60)
        spec = Path(tmp) / "spec.yaml"
        spec.write_text(spec_text(n))
        env = dict(os.environ, **sandbox.credentials, RECONCILER_STATE=f"{tmp}/state.db")
        out: dict[str, float] = {}
        with engine.Session(spec, env=env) as session:
            out.update(plan_apply_replan(session, "phase"))
            live = session.refresh()
            out["objects"] = len(live)
        out["peak_mib"] = peak_mib()
        # a per-resource refresh: one GET per live object plus each collection list
        out["per_resource_req"] = out["objects"] + 6
        return out


def main(argv: list[str]) -> int:
    columns = [
        *OBJECTS_AND_CHANGES,
        *CYCLE,
        ("per-resource refresh req", "per_resource_req"),
        *PEAK,
    ]
    return report(columns, [int(a) for a in argv] or [10, 100, 1000], run)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
