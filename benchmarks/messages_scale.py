"""Requests and wall time of plan and apply for Messages servers of growing size.

For N domains the generated spec declares every domain with custom attributes (write-only,
compared by fingerprint), one admin, a shared mailbox with two accesses and a personal mailbox.
It runs against an in-process sandbox (loopback HTTP) and prints, per size: requests and
seconds of the first plan, the apply, the converged re-plan (domain list, then per domain its
admins and one mailbox page in parallel), and the peak resident memory of the process.

Usage: .venv/bin/python benchmarks/messages_scale.py [SIZES...]   (default: 10 100 1000)
"""

from __future__ import annotations

import os
import resource
import sys
import tempfile
import time
from pathlib import Path

from table import report

from reconciler import engine
from reconciler.sandbox.messages.server import MessagesSandbox


def spec_text(n: int) -> str:
    lines = [
        "version: 1",
        "messages:",
        "  connection:",
        "    url: ${env:MESSAGES_URL}",
        "    channel_id: ${env:MESSAGES_CHANNEL_ID}",
        "    api_key: ${env:MESSAGES_API_KEY}",
        "    admin_token: ${env:MESSAGES_ADMIN_TOKEN}",
        "    rate_limit: 100000",
        "  prune: [admins, mailboxes, mailbox_access]",
        "  domains:",
    ]
    for i in range(n):
        d = f"d{i:04d}.fr"
        lines += [
            f"    {d}:",
            f'      custom_attributes: {{siret: "{i:014d}"}}',
            f"      admins: [admin@{d}]",
            "      mailboxes:",
            "        contact: {type: shared, name: Contact,",
            f"                  access: {{a@{d}: admin, b@{d}: sender}}}}",
            "        owner: {type: personal, first_name: Ann, last_name: Owner}",
        ]
    return "\n".join(lines) + "\n"


def run(n: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp, MessagesSandbox() as sandbox:
        spec = Path(tmp) / "spec.yaml"
        spec.write_text(spec_text(n))
        env = dict(os.environ, **sandbox.credentials, RECONCILER_STATE=f"{tmp}/state.db")
        out: dict[str, float] = {}
        with engine.Session(spec, env=env) as session:
            provider = session.providers["messages"]

            def requests() -> int:
                return int(provider.stats()["requests"])  # type: ignore[call-overload]

            t, r = time.monotonic(), requests()
            plan = session.make_plan()
            out["plan_s"], out["plan_req"] = time.monotonic() - t, requests() - r
            out["changes"] = len(plan.executable)
            t, r = time.monotonic(), requests()
            result = session.apply(plan, concurrency=4)
            assert result.ok, [x.line() for x in result.results if not x.ok][:3]
            out["apply_s"], out["apply_req"] = time.monotonic() - t, requests() - r
            t, r = time.monotonic(), requests()
            again = session.make_plan()
            assert again.empty, [str(c.address) for c in again.executable][:5]
            out["replan_s"], out["replan_req"] = time.monotonic() - t, requests() - r
            out["objects"] = len(session.refresh())
        out["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return out


def main(argv: list[str]) -> int:
    columns = [
        ("objects", "objects"), ("changes", "changes"), ("plan req", "plan_req"),
        ("plan s", "plan_s"), ("apply req", "apply_req"), ("apply s", "apply_s"),
        ("re-plan req", "replan_req"), ("re-plan s", "replan_s"), ("peak RSS MiB", "peak_mib"),
    ]  # fmt: skip
    return report(columns, [int(a) for a in argv] or [10, 100, 1000], run)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
