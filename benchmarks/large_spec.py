"""Large specs: `validate` and `plan` (against an empty target) versus a bare libyaml parse.

For each size N a spec of N objects for the memory provider is generated (N/20 groups, N/20
members, the rest items with a group, an owner, a value and two tags: about 4.7 lines an
object) and timed, each size in a child process so that its peak RSS is its own:

* ``parse s``: ``yaml.load(text, Loader=yaml.CSafeLoader)``, PyYAML's libyaml parse of the same
  file into Python data (no positions, no checks): the floor any YAML tool pays;
* ``parse, no GC s``: the same parse with the cyclic garbage collector paused, as reconciler
  runs its own load (``paused_gc``): the stricter baseline, also shown as a ratio;
* ``validate s``: ``reconciler validate SPEC`` run in the process after imports (load with
  positions, resolve, schema, compile every provider section);
* ``plan s``: ``reconciler plan SPEC`` against an empty target (a memory live file that does
  not exist yet): open the session (the same load and the state store), read live, diff,
  order, check safety, render the text plan to stdout;
* ``peak RSS MiB``: the child's peak resident memory (all three steps).

Times are CPU seconds of the process (``time.process_time``: every step is single-threaded and
local, and on a shared machine wall time swings with the neighbours' load while CPU time does
not), each the best of ``--repeat`` runs (default 3). ``--wall`` measures wall time instead.
Usage::

    .venv/bin/python benchmarks/large_spec.py [N ...]          # default: 10000 100000
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from table import report


def generate(n: int) -> str:
    """A memory-provider spec of ``n`` objects (see the module docstring)."""
    groups = max(1, n // 20)
    members = max(1, n // 20)
    items = max(0, n - groups - members)
    lines = [
        "version: 1",
        "memory:",
        '  connection: {path: "${env:MEMORY_PATH}"}',
        "  prune: [groups, items]",
        "  groups:",
    ]
    for g in range(groups):
        lines += [f"    g{g}:", f"      description: Group number {g}"]
    lines.append("  members:")
    for m in range(members):
        lines += [f"    user{m}@acme.io:", "      role: member"]
    lines.append("  items:")
    for i in range(items):
        lines += [
            f"    item-{i}:",
            f"      group: g{i % groups}",
            f"      owner: user{i % members}@acme.io",
            f'      value: "v{i}"',
            "      tags: [public, tier-2]",
        ]
    return "\n".join(lines) + "\n"


CLOCK = time.process_time


def best(repeat: int, step: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        started = CLOCK()
        step()
        times.append(CLOCK() - started)
    return min(times)


def measure(n: int, repeat: int) -> dict[str, float]:
    """Run in the child process: the three timings and the peak RSS for one size."""
    import yaml
    from typer.testing import CliRunner

    from reconciler.cli.app import app
    from reconciler.providers.registry import plugins
    from reconciler.spec.load import load_spec, paused_gc

    plugins()  # imports are not what is measured
    with tempfile.TemporaryDirectory(prefix="reconciler-bench-") as tmp:
        spec = Path(tmp) / "org.yaml"
        text = generate(n)
        spec.write_text(text, encoding="utf-8")
        os.environ["MEMORY_PATH"] = str(Path(tmp) / "live.json")  # absent: an empty target
        parse_s = best(repeat, lambda: yaml.load(text, Loader=yaml.CSafeLoader))
        with paused_gc():
            bare_s = best(repeat, lambda: yaml.load(text, Loader=yaml.CSafeLoader))
        loaded = load_spec(spec, strict_env=False)
        objects = len(loaded.desired)
        del loaded
        runner = CliRunner()

        def command(*args: str) -> str:
            result = runner.invoke(app, list(args), catch_exceptions=False)
            assert result.exit_code == 0, result.stderr
            return result.stdout

        validate_s = best(repeat, lambda: command("validate", str(spec)))
        changes = command("plan", str(spec)).count("\n  + ")
        plan_s = best(repeat, lambda: command("plan", str(spec)))
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "objects": objects,
        "changes": changes,
        "lines": text.count("\n"),
        "parse_s": parse_s,
        "validate_s": validate_s,
        "parse_nogc_s": bare_s,
        "validate_x": validate_s / parse_s,
        "validate_nogc_x": validate_s / bare_s,
        "plan_s": plan_s,
        "plan_x": plan_s / parse_s,
        "plan_nogc_x": plan_s / bare_s,
        "peak_mib": peak_kib / 1024,
    }


COLUMNS = [
    ("objects", "objects"),
    ("lines", "lines"),
    ("parse s", "parse_s"),
    ("parse, no GC s", "parse_nogc_s"),
    ("validate s", "validate_s"),
    ("validate / parse", "validate_x"),
    ("validate / parse no GC", "validate_nogc_x"),
    ("plan s", "plan_s"),
    ("plan / parse", "plan_x"),
    ("plan / parse no GC", "plan_nogc_x"),
    ("peak RSS MiB", "peak_mib"),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--wall", action="store_true", help="wall time instead of CPU time")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # child: one size, JSON out
    args = parser.parse_args()
    if args.one is not None:
        if args.wall:
            global CLOCK
            CLOCK = time.perf_counter
        print(json.dumps(measure(args.one, args.repeat)))
        return 0

    def run(n: int) -> dict[str, float]:
        child = subprocess.run(
            [sys.executable, __file__, "--one", str(n), "--repeat", str(args.repeat)]
            + (["--wall"] if args.wall else []),
            capture_output=True,
            text=True,
        )
        if child.returncode != 0:
            sys.exit(f"size {n} failed:\n{child.stderr}")
        result: dict[str, float] = json.loads(child.stdout)
        return result

    return report(COLUMNS, args.sizes, run)


if __name__ == "__main__":
    raise SystemExit(main())
