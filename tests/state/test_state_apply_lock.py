"""Two applies of one target at once, through the engine in separate processes, against both
state backends: one waits for the other's lock (``RECONCILER_LOCK_TIMEOUT``) and applies after
it, so their changes never interleave; without a timeout the second fails naming the first;
an apply killed with ``kill -9`` mid-way leaves no lock behind and the next run completes it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from pgcluster import Backend

from reconciler import engine

ITEMS = [f"i{n}" for n in range(6)]
SPEC = (
    'version: 1\nmemory:\n  connection: {path: "${env:MEMORY_PATH}"}\n  groups:\n'
    "    backend: {description: Backend}\n  items:\n"
    + "".join(f'    {name}: {{group: backend, value: "{name}"}}\n' for name in ITEMS)
)

# One runner: plan, wait for "go" on stdin, apply slowly (each change takes >= 0.12 s), logging
# every executor event with its wall-clock time to a shared file.
RUNNER = textwrap.dedent(
    """
    import json, os, sys, time
    from pathlib import Path
    from reconciler import engine
    from reconciler.errors import LockedError

    spec, log, name = sys.argv[1:4]
    with engine.Session(Path(spec)) as session:
        plan = session.make_plan()
        print("planned", flush=True)
        sys.stdin.readline()

        def on_event(event):
            with open(log, "a") as fh:
                fh.write(json.dumps([name, event.kind, str(event.change.address), time.time()]))
                fh.write("\\n")
            if event.kind == "started":
                time.sleep(0.12)

        started = time.time()
        try:
            result = session.apply(plan, concurrency=1, on_event=on_event, holder=name)
        except LockedError as exc:
            print("locked:", exc, flush=True)
            sys.exit(3)
        print(json.dumps({"ok": result.ok, "waited_from": started}), flush=True)
    """
)


def environment(backend: Backend, root: Path, lock_timeout: float) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "MEMORY_PATH": str(root / "live.json"),
            "RECONCILER_STATE": backend.location,
            "RECONCILER_FINGERPRINT_KEY": "ef" * 32,
            "RECONCILER_LOCK_TIMEOUT": str(lock_timeout),
        }
    )
    return env


def runner(spec: Path, log: Path, name: str, env: dict[str, str]) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", RUNNER, str(spec), str(log), name],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "planned"
    return proc


def events(log: Path) -> list[list[Any]]:
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines()]


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    path = tmp_path / "org.yaml"
    path.write_text(SPEC)
    return path


def test_second_apply_waits_then_applies_without_interleaving(
    backend: Backend, spec: Path, tmp_path: Path
) -> None:
    log = tmp_path / "events.jsonl"
    env = environment(backend, tmp_path, lock_timeout=60)
    procs = [runner(spec, log, name, env) for name in ("runner-a", "runner-b")]
    try:
        for proc in procs:  # both planned; now both apply at once
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        outputs = [proc.communicate(timeout=60)[0] for proc in procs]
    finally:
        for proc in procs:
            proc.kill()
    assert all(json.loads(out)["ok"] for out in outputs), outputs
    logged = events(log)
    order = [name for name, *_ in logged]
    first = order[0]
    second = "runner-b" if first == "runner-a" else "runner-a"
    # One block of the first runner's 7 changes (start + finish each), then the second's.
    assert order == [first] * 14 + [second] * 14, order
    first_done = max(t for name, _, _, t in logged if name == first)
    second_start = min(t for name, _, _, t in logged if name == second)
    assert second_start >= first_done
    assert first_done - min(t for *_, t in logged) >= 7 * 0.12  # the wait was real
    with engine.Session(spec, env=env) as session:
        assert session.make_plan().empty


def test_without_timeout_the_second_apply_fails_naming_the_holder(
    backend: Backend, spec: Path, tmp_path: Path
) -> None:
    log = tmp_path / "events.jsonl"
    env = environment(backend, tmp_path, lock_timeout=0)
    holder = runner(spec, log, "runner-a", env)
    late = runner(spec, log, "runner-b", env)
    try:
        assert holder.stdin is not None and late.stdin is not None
        holder.stdin.write("go\n")
        holder.stdin.flush()
        deadline = time.monotonic() + 30
        while not events(log) and time.monotonic() < deadline:  # runner-a holds the lock
            time.sleep(0.02)
        late.stdin.write("go\n")
        late.stdin.flush()
        out, _ = late.communicate(timeout=30)
        assert late.returncode == 3, out
        assert "apply lock held by runner-a" in out and f"pid {holder.pid}" in out
        holder.communicate(timeout=30)
        assert holder.returncode == 0
    finally:
        holder.kill()
        late.kill()
    assert {name for name, *_ in events(log)} == {"runner-a"}  # runner-b changed nothing


def test_killed_apply_leaves_no_lock_and_the_next_run_completes_it(
    backend: Backend, spec: Path, tmp_path: Path
) -> None:
    log = tmp_path / "events.jsonl"
    env = environment(backend, tmp_path, lock_timeout=0)
    victim = runner(spec, log, "runner-a", env)
    try:
        assert victim.stdin is not None
        victim.stdin.write("go\n")
        victim.stdin.flush()
        deadline = time.monotonic() + 30
        while sum(e[1] == "finished" for e in events(log)) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait()
    finally:
        victim.kill()
    done = {e[2] for e in events(log) if e[1] == "finished"}
    assert 2 <= len(done) < 7  # killed mid-apply
    # The next run: no lock timeout, no manual unlock; a moment for the server to notice.
    time.sleep(0.2)
    with engine.Session(spec, env={**env, "RECONCILER_LOCK_TIMEOUT": "0"}) as session:
        plan = session.make_plan()
        assert not plan.empty
        assert session.apply(plan, holder="runner-c").ok
        assert session.make_plan().empty
