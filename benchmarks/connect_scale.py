"""Requests and wall time of plan and apply for CommCare Connect organisations of growing size.

For N programs the generated spec declares each program with one partner and two opportunities
(each with its own deliver app, one payment unit, activation and two invites). It runs against
an in-process sandbox (loopback HTTP) and prints, per size: requests and seconds of the first
plan, the apply, the converged re-plan (the program listing, then per program its opportunity
page and per opportunity its worker page), and the peak resident memory of the process.

Usage: .venv/bin/python benchmarks/connect_scale.py [SIZES...]   (default: 5 25 100)
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
from reconciler.sandbox.connect.server import ConnectSandbox

APP = (
    '{{hq_server_url: https://www.commcarehq.org, api_key: "${{env:CONNECT_HQ_API_KEY}}",'
    " cc_domain: bench, cc_app_id: {app}{extra}}}"
)


def spec_text(n: int) -> str:
    lines = [
        "version: 1",
        "connect:",
        "  connection:",
        "    url: ${env:CONNECT_URL}",
        "    token: ${env:CONNECT_TOKEN}",
        "    rate_limit: 100000",
        "  organization: acme-pm",
        "  programs:",
    ]
    for i in range(n):
        lines += [
            f"    p{i:04d}:",
            "      {description: Bench, delivery_type: malaria, budget: 100000, currency: USD,"
            " country: Kenya, start_date: 2027-01-01, end_date: 2027-12-31,",
            "       partners: [kisumu-health], opportunities: {",
        ]
        for j in range(2):
            learn = APP.format(app="learn", extra=", passing_score: 50")
            deliver = APP.format(app=f"d{i}x{j}", extra="")
            lines += [
                f"        o{j}: {{organization: kisumu-health, short_description: Visits,",
                "             start_date: 2027-02-01, end_date: 2027-06-30, total_budget: 1000,",
                f"             learn_app: {learn},",
                f"             deliver_app: {deliver},",
                "             payment_units: {visit: {amount: 1, org_amount: 0,",
                "                 max_total: 10, max_daily: 1, required_deliver_units: [visit]}},",
                '             active: true, invites: ["+254700000001", "+254700000002"]},',
            ]
        lines.append("      }}")
    return "\n".join(lines) + "\n"


def run(n: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp, ConnectSandbox() as sandbox:
        apps: dict[str, object] = {"learn": {"name": "Learn", "modules": []}}
        for i in range(n):
            for j in range(2):
                units = [{"slug": "visit", "name": "Visit"}]
                apps[f"d{i}x{j}"] = {"name": f"Deliver {i}.{j}", "deliver_units": units}
        httpx.post(
            f"{sandbox.root}/_sandbox/hq/", json={"apps": {"bench": apps}}
        ).raise_for_status()
        spec = Path(tmp) / "spec.yaml"
        spec.write_text(spec_text(n))
        env = dict(os.environ, **sandbox.credentials, RECONCILER_STATE=f"{tmp}/state.db")
        out: dict[str, float] = {}
        with engine.Session(spec, env=env) as session:
            out.update(plan_apply_replan(session, "connect"))
            out["objects"] = len(session.refresh())
        out["peak_mib"] = peak_mib()
        return out


def main(argv: list[str]) -> int:
    columns = [*OBJECTS_AND_CHANGES, *CYCLE, *PEAK]
    return report(columns, [int(a) for a in argv] or [5, 25, 100], run)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
