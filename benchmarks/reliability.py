"""Reliability figures per provider: the README's "Reliability" table, re-runnable.

For every provider with a sandbox (its example, through the fault proxy of ``tests/faults``):

* faults: N seeded applies under random faults (``tests/faults/proxy.py``: latency, resets,
  truncated bodies, 5xx bursts, 429 storms with and without Retry-After, lost answers, trickle),
  each followed by clean re-runs until the plan is empty;
* crashes: N ``kill -9`` of the CLI at a seeded write request, state on SQLite, and N on
  PostgreSQL (a throwaway cluster, ``tests/state/pgcluster.py``; skipped without its binaries);
* hostile servers: every mode of ``tests/faults/hostile.py`` in place of the API, and a
  garbled answer mid-apply; hostile specs: the attacks of ``tests/faults/test_hostile_specs.py``;
* secrets: the canary scan of ``harness.secrets_trial``.

Usage: .venv/bin/python benchmarks/reliability.py [--trials N] [--no-postgres] [PROVIDER...]
(default N = 5; the README's figures use N = 50). Prints a Markdown table; exits 1 if any trial
broke a guarantee (a traceback, a duplicate, a leak, no convergence within two clean runs).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "faults"))
sys.path.insert(0, str(HERE.parent / "tests" / "state"))

from harness import (  # noqa: E402
    PROVIDERS,
    Rig,
    Trial,
    crash_trial,
    fault_trial,
    garbled_trial,
    secrets_trial,
)
from hostile import MODES, HostileServer  # noqa: E402
from test_hostile_specs import ATTACKS, _validate  # noqa: E402


def _broken(trial: Trial) -> bool:
    converged = trial.needs_operator or 1 <= trial.runs_to_converge <= 2
    return bool(trial.problems or trial.duplicates or trial.leaks or not converged)


def _hostile_server(rig: Rig, mode: str) -> tuple[bool, float]:
    """A plan against a hostile server: (a clean one-line failure, seconds)."""
    server = HostileServer(mode)
    server.start()
    run = rig.fresh()
    try:
        scheme = "https" if mode == "tls" else "http"
        for key, value in list(run.env.items()):
            run.env[key] = value.replace(
                f"http://127.0.0.1:{rig.proxy.port}", f"{scheme}://127.0.0.1:{server.port}"
            )
        run.env["RECONCILER_HTTP_TIMEOUT"] = "1"
        started = time.monotonic()
        outcome = run.plan_empty()
        seconds = time.monotonic() - started
        lines = [line for line in outcome.output.splitlines() if line.strip()]
        clean = outcome.code == 1 and not outcome.traceback and len(lines) <= 2
        followed = server.other is not None and server.other.requests > 0
        return clean and not followed, seconds
    finally:
        server.stop()
        run.close()


def _hostile_specs() -> int:
    """The spec attacks refused with a located error; returns how many were tried."""
    folder = Path(tempfile.mkdtemp(prefix="hostile-specs-"))
    try:
        for name, text in ATTACKS.items():
            spec = folder / f"{name}.yaml"
            spec.write_text(text)
            code, output, traceback = _validate(spec)
            if traceback or code != 1:
                raise SystemExit(f"spec attack {name}: exit {code}\n{output[:400]}")
        return len(ATTACKS)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def measure(name: str, trials: int, postgres: bool) -> tuple[dict[str, str], bool]:
    """One provider's row, and whether every trial kept every guarantee."""
    rig = Rig(name)
    try:
        rig.measure_baseline()
        seeds = range(1000, 1000 + trials)
        faulted = [fault_trial(rig, seed) for seed in seeds]
        crashed = [crash_trial(rig, seed) for seed in seeds]
        if postgres:
            from pgcluster import cluster

            crashed += [crash_trial(rig, s, state=cluster().new_database()) for s in seeds]
        hostile = [_hostile_server(rig, mode) for mode in MODES]
        garbled = garbled_trial(rig, 7)
        secrets = secrets_trial(rig, 3)
    finally:
        rig.close()
    everything = [*faulted, *crashed, garbled, secrets]
    broken = [t for t in [*faulted, *crashed, garbled] if _broken(t)]
    broken += [secrets] if secrets.leaks or secrets.problems else []
    for trial in broken:
        print(f"BROKEN {trial}", file=sys.stderr)
    faults = sum((t.faults for t in faulted), Counter[str]())
    runs = [t.runs_to_converge for t in [*faulted, *crashed, garbled] if not t.needs_operator]
    operator = sum(t.needs_operator for t in [*faulted, *crashed, garbled])
    settled = [t for t in faulted if not t.needs_operator]  # the others stop early
    extra = sum(t.extra_requests for t in settled) / max(1, len(settled))
    row = {
        "provider": name,
        "faulted applies": str(len(faulted)),
        "faults injected": str(faults.total()),
        "kill -9 (SQLite + PG)": f"{trials} + {len(crashed) - trials}",
        "runs to converge (max)": str(max(runs, default=0)),
        "needs operator": str(operator),
        "duplicates": str(sum(sum(t.duplicates.values()) for t in everything)),
        "extra requests / faulted apply": f"{extra:.1f} (of {rig.baseline_requests})",
        "hostile servers (clean, slowest s)": (
            f"{sum(ok for ok, _ in hostile) + (not _broken(garbled))}/{len(hostile) + 1}, "
            f"{max(s for _, s in hostile):.1f}"
        ),
        "secrets (canaries, leaks)": f"{secrets.canaries}, {len(secrets.leaks)}",
    }
    return row, not broken and all(ok for ok, _ in hostile)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("providers", nargs="*", default=list(PROVIDERS))
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    started = time.monotonic()
    specs = _hostile_specs()
    rows, fine = [], True
    for name in args.providers:
        row, ok = measure(name, args.trials, not args.no_postgres)
        rows.append(row)
        fine = fine and ok
        print(f"{name}: done ({time.monotonic() - started:.0f} s)", file=sys.stderr)
    columns = list(rows[0])
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for row in rows:
        print("| " + " | ".join(row[c] for c in columns) + " |")
    print(
        f"\nHostile specs: {specs} attacks refused with a located error (and 10 hypothesis "
        f"mutations per example in the test suite). {time.monotonic() - started:.0f} s in all."
    )
    return 0 if fine else 1


if __name__ == "__main__":
    sys.exit(main())
