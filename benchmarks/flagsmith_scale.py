"""Requests and wall time of plan and apply for Flagsmith organisations of growing size, against
the per-resource refresh a one-GET-per-object reader would need.

For N projects the generated spec declares: N projects with two environments each, a group
grant on every project and an environment grant on its Production, a GitLab integration
(write-only token) and a Datadog one (clear-text key) on every project, two groups and three
members. It runs against an in-process sandbox (loopback HTTP) and prints, per size: the live
objects under management, requests and seconds of the first plan, the apply, the converged
re-plan, the re-plan again with every answer delayed 500 ms (what the real server's per-request
API-key hashing costs), and the per-resource refresh: one GET per managed live object plus the
organisation lookup (its seconds at 500 ms a request, sent one after another).

Usage: .venv/bin/python benchmarks/flagsmith_scale.py [SIZES...]   (default: 10 100)
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import httpx
from cycle import CYCLE, PEAK, peak_mib, plan_apply_replan
from table import report

from reconciler import engine
from reconciler.sandbox.flagsmith.server import FlagsmithSandbox

HASH_SECONDS = 0.5  # the real server's PBKDF2 check of the API key, per request


def spec_text(n: int) -> str:
    lines = [
        "version: 1",
        "flagsmith:",
        "  connection:",
        "    url: ${env:FLAGSMITH_URL}",
        "    api_key: ${env:FLAGSMITH_API_KEY}",
        "    rate_limit: 100000",
        "  organisation: Acme",
        "  prune: [projects, environments]",
        "  members:",
        "    owner@acme.io: {role: ADMIN}",
        "  groups: {backend: {}, ops: {}}",
        "  projects:",
    ]
    for i in range(n):
        lines += [
            f"    p{i:04d}:",
            "      environments: [Development, Production]",
            "      permissions: {groups: {backend: {permissions: [VIEW_PROJECT]}}}",
            "      environment_permissions:",
            "        Production: {groups: {ops: {permissions: [VIEW_ENVIRONMENT]}}}",
            "      integrations:",
            "        gitlab:",
            "          gitlab_instance_url: https://gitlab.com",
            "          access_token: ${env:GITLAB_TOKEN}",
            "        datadog:",
            "          base_url: https://api.datadoghq.eu",
            "          api_key: ${env:DD_API_KEY}",
        ]
    return "\n".join(lines) + "\n"


def run(n: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp, FlagsmithSandbox() as sandbox:
        spec = Path(tmp) / "spec.yaml"
        spec.write_text(spec_text(n))
        env = dict(
            os.environ,
            **sandbox.credentials,
            GITLAB_TOKEN="glpat-bench",
            DD_API_KEY="dd-bench",
            RECONCILER_STATE=f"{tmp}/state.db",
        )
        out: dict[str, float] = {}
        with engine.Session(spec, env=env) as session:
            out.update(plan_apply_replan(session, "flagsmith"))
            httpx.post(f"{sandbox.root}/_sandbox/faults/", json={"latency_ms": 500})
            t = time.monotonic()
            assert session.make_plan().empty
            out["slow_s"] = time.monotonic() - t
            httpx.delete(f"{sandbox.root}/_sandbox/faults/")
            live = session.refresh()
            managed = [a for a in live if a in session.spec.desired]
            out["objects"] = len(managed)
            out["per_resource_req"] = 1 + len(managed)
            out["per_resource_s"] = HASH_SECONDS * out["per_resource_req"]
        out["peak_mib"] = peak_mib()
        return out


def main(argv: list[str]) -> int:
    columns = [
        ("managed objects", "objects"), ("changes", "changes"), *CYCLE,
        ("re-plan s at 0.5 s/req", "slow_s"), ("per-resource refresh req", "per_resource_req"),
        ("per-resource s at 0.5 s/req", "per_resource_s"), *PEAK,
    ]  # fmt: skip
    return report(columns, [int(a) for a in argv] or [10, 100], run)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
