"""examples/flagsmith-org/quickstart.sh runs to the end (its own sandbox, through the CLI)."""

from __future__ import annotations

import os
import subprocess

from flagsmith_org import ROOT


def test_the_flagsmith_quickstart_runs() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLAGSMITH_", "RECONCILER_"))}
    script = ROOT / "examples" / "flagsmith-org" / "quickstart.sh"
    done = subprocess.run(
        ["bash", str(script)], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "== done" in done.stdout
    assert "secrets are read from:" in done.stdout
    for secret in ("ado-quickstart", "glpat-quickstart", "dd-quickstart"):
        assert secret not in done.stdout + done.stderr
