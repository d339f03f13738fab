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
import sys
import tempfile
from pathlib import Path

from cycle import CYCLE, OBJECTS_AND_CHANGES, PEAK, peak_mib, plan_apply_replan
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
            out.update(plan_apply_replan(session, "messages"))
            out["objects"] = len(session.refresh())
        out["peak_mib"] = peak_mib()
        return out


def main(argv: list[str]) -> int:
    columns = [*OBJECTS_AND_CHANGES, *CYCLE, *PEAK]
    return report(columns, [int(a) for a in argv] or [10, 100, 1000], run)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
