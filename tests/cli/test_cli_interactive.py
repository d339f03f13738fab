"""Interactive apply on a real terminal (a pseudo-terminal): only ``yes`` applies."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_org import SPEC

ENTRY = "from reconciler.cli.app import main; main()"


def run_on_tty(args: list[str], answer: str, env: dict[str, str], cwd: Path) -> tuple[int, str]:
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-c", ENTRY, *args],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        cwd=cwd,
        close_fds=True,
    )
    os.close(slave)
    seen = b""
    answered = False
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
            if not answered and b"Enter a value:" in seen:
                os.write(master, answer.encode() + b"\n")
                answered = True
        elif proc.poll() is not None:
            break
    code = proc.wait(timeout=30)
    os.close(master)
    return code, seen.decode("utf-8", "replace")


@pytest.mark.parametrize(("answer", "code"), [("yes", 0), ("y", 1)])
def test_confirmation(tmp_path: Path, answer: str, code: int) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC)
    live = tmp_path / "live.json"
    env = {
        **os.environ,
        "MEMORY_PATH": str(live),
        "MEMORY_TOKEN": "tok-tty",
        "NO_COLOR": "1",
        "TERM": "dumb",
    }
    for name in ("RECONCILER_STATE", "RECONCILER_FINGERPRINT_KEY", "RECONCILER_SECRET_KEY"):
        env.pop(name, None)
    got, output = run_on_tty(["apply", str(spec)], answer, env, tmp_path)
    assert got == code, output
    assert "Apply these changes?" in output
    if code == 0:
        assert "Apply complete" in output and live.exists()
    else:
        assert "apply cancelled" in output and not live.exists()
