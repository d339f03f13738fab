"""Campaigns of faults and crashes against every provider's example, measured.

A ``Rig`` is one provider's sandbox (started from its registered mount) behind a ``FaultProxy``;
``Rig.fresh()`` resets the sandbox and gives a ``Run``: a temporary copy of the provider's
example, an environment pointing at the proxy and a fresh state location, and the CLI (``cli``
in process, ``spawn`` as a child process that can be killed).

Duplicates are counted on the server: ``Rig.inventory()`` is the number of live rows (not
soft-deleted) of every table of the sandbox's store. The rig's baseline (fault-free apply, then
a plan) gives the inventory of a converged organisation; a table that grows on a fault-free
re-run (sessions, logins) is not an object the example declares and is left out. After a
campaign trial converges, every row beyond the baseline is a duplicate.

``fault_trial`` and ``crash_trial`` return a ``Trial``: faults injected, runs until the plan was
empty, duplicates, requests beyond the fault-free count, and anything that broke the CLI contract
(a traceback, an exit code outside 0/1, a run that never converged).
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from typer.testing import CliRunner

from reconciler.cli.app import app
from reconciler.sandbox.registry import mounts

sys.path.insert(0, str(Path(__file__).resolve().parent))

from proxy import FaultProxy

ROOT = Path(__file__).resolve().parents[2]
PROVIDERS = ("phase", "flagsmith", "messages", "connect")
EXAMPLES = {
    "phase": "phase-org",
    "flagsmith": "flagsmith-org",
    "messages": "messages-org",
    "connect": "connect-program",
}
# Secrets the examples read besides the sandbox's credentials.
EXTRA_ENV = {
    "flagsmith": {
        "ADO_PAT": "ado-pat-canary-0001",
        "GITLAB_TOKEN": "glpat-canary-0001",
        "DD_API_KEY": "dd-key-canary-0001",
    }
}
# What a Connect apply says when an operator must act (docs/connect-api.md): a program whose
# create answer was lost (its UUID is on no list the API offers: pin it), or a partner
# application accepted by the server before a crash (its UUID is never exported, so the
# acceptance is done in Connect). Counted, never retried forever.
OPERATOR = ("pin it with id", "accept it in Connect")
MAX_RUNS = 5
# The environment variables holding secrets, per provider (the sandbox mints fresh values).
SECRET_VARIABLES = {
    "phase": ("PHASE_TOKEN", "PHASE_PASSWORD"),
    "flagsmith": ("FLAGSMITH_API_KEY", "ADO_PAT", "GITLAB_TOKEN", "DD_API_KEY"),
    "messages": ("MESSAGES_API_KEY", "MESSAGES_ADMIN_TOKEN"),
    "connect": ("CONNECT_TOKEN", "CONNECT_HQ_API_KEY"),
}  # clean re-runs before a trial is declared not converged


@dataclass
class Outcome:
    code: int
    output: str
    traceback: bool


@dataclass
class Trial:
    provider: str
    seed: int
    faults: Counter[str] = field(default_factory=Counter)
    runs_to_converge: int = 0
    duplicates: dict[str, int] = field(default_factory=dict)
    extra_requests: int = 0
    needs_operator: bool = False
    canaries: int = 0
    kept: int = 0  # secrets found where the spec sends them (a 0600 file): the scan works
    leaks: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


class Run:
    """One trial's working directory, environment and CLI."""

    def __init__(self, rig: Rig, credentials: Mapping[str, str], state: str | None) -> None:
        self.rig = rig
        self.dir = Path(tempfile.mkdtemp(prefix=f"faults-{rig.name}-"))
        self.spec = self.dir / "org"
        shutil.copytree(ROOT / "examples" / EXAMPLES[rig.name], self.spec)
        via_proxy = {
            k: v.replace(f":{rig.server.port}", f":{rig.proxy.port}")
            for k, v in credentials.items()
        }
        self.env = {
            **via_proxy,
            **EXTRA_ENV.get(rig.name, {}),
            "RECONCILER_STATE": state or str(self.dir / "state.db"),
            "RECONCILER_FINGERPRINT_KEY": "3a" * 32,
            "RECONCILER_LOCK_TIMEOUT": "0",
            "NO_COLOR": "1",
        }

    def cli(self, *args: str) -> Outcome:
        """The CLI in this process (the proxy and sandbox run on their own threads)."""
        with _cwd(self.dir):
            result = CliRunner().invoke(app, list(args), env=self.env, catch_exceptions=True)
        crashed = result.exception is not None and not isinstance(result.exception, SystemExit)
        output = result.output + (f"\n{result.exception!r}" if crashed else "")
        return Outcome(result.exit_code, output, crashed or "Traceback" in result.output)

    def apply(self) -> Outcome:
        return self.cli("apply", str(self.spec), "--auto-approve")

    def plan_empty(self) -> Outcome:
        return self.cli("plan", str(self.spec), "--detailed-exitcode")

    def spawn(self, *args: str) -> subprocess.Popen[bytes]:
        """The CLI as a child process (for ``kill -9``)."""
        code = "from reconciler.cli.app import main; main()"
        return subprocess.Popen(
            [sys.executable, "-c", code, *args],
            cwd=self.dir,
            env={**os.environ, **self.env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )

    def close(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


class Rig:
    """One provider's sandbox behind the fault proxy, with its fault-free baseline."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.server: Any = mounts([name])[0].factory(port=0, data_dir=None)
        self.server.start()
        self.proxy = FaultProxy(self.server.port)
        self.proxy.start()
        self.baseline_requests = 0
        self.baseline_writes = 0
        self.baseline: Counter[str] = Counter()
        self.per_run: set[str] = set()

    def close(self) -> None:
        self.proxy.stop()
        self.server.stop()

    def fresh(self, state: str | None = None) -> Run:
        """Reset the sandbox (default organisation, no faults) and a new working copy."""
        self.proxy.configure(seed=0, rate=0.0)
        root = self.server.root
        credentials = httpx.post(f"{root}/_sandbox/reset/", timeout=10).json()
        return Run(self, credentials, state)

    def inventory(self) -> Counter[str]:
        store = self.server.store
        with store.lock:
            return Counter(
                {
                    name: sum(1 for row in _rows(rows) if _live(row))
                    for name, rows in store.data.items()
                    if isinstance(rows, dict | list) and name not in self.per_run
                }
            )

    def measure_baseline(self) -> None:
        """Fault-free apply, plan, apply: requests, writes, and the converged inventory."""
        run = self.fresh()
        try:
            first = run.apply()
            assert first.code == 0, first.output
            self.baseline_writes = self.proxy.tally.writes
            assert run.plan_empty().code == 0
            self.per_run = set()
            before = self.inventory()
            again = run.apply()
            assert again.code == 0, again.output
            after = self.inventory()
            self.per_run = {name for name in after if after[name] != before[name]}
            # what a fault-free trial sends: the apply, one clean re-run and its plan
            self.baseline_requests = self.proxy.tally.requests
            self.baseline = self.inventory()
        finally:
            run.close()

    def duplicates(self) -> dict[str, int]:
        """Rows beyond the converged baseline, by table."""
        found = self.inventory()
        return {n: found[n] - self.baseline[n] for n in found if found[n] > self.baseline[n]}


def converge(run: Run, trial: Trial) -> None:
    """Clean re-runs (apply, then plan) until the plan is empty; counts them in ``trial``."""
    run.rig.proxy.configure(seed=0, rate=0.0)
    for attempt in range(1, MAX_RUNS + 1):
        applied = run.apply()
        if applied.traceback:
            trial.problems.append(f"traceback on re-run {attempt}: {applied.output[-400:]}")
        planned = run.plan_empty()
        if planned.code == 0:
            trial.runs_to_converge = attempt
            return
        if any(words in applied.output for words in OPERATOR):
            trial.needs_operator = True  # a documented manual step; re-runs cannot help
            return
    trial.problems.append(f"not converged after {MAX_RUNS} clean runs: {planned.output[-600:]}")


def fault_trial(rig: Rig, seed: int, rate: float = 0.25, state: str | None = None) -> Trial:
    """A faulted apply of the example on a fresh organisation, then clean re-runs."""
    trial = Trial(rig.name, seed)
    run = rig.fresh(state)
    try:
        rig.proxy.configure(seed=seed, rate=rate)
        faulted = run.apply()
        trial.faults = Counter(rig.proxy.tally.faults)
        requests = rig.proxy.tally.requests
        if faulted.traceback or faulted.code not in (0, 1):
            trial.problems.append(f"faulted apply exit {faulted.code}: {faulted.output[-400:]}")
        converge(run, trial)
        requests += rig.proxy.tally.requests
        trial.extra_requests = requests - rig.baseline_requests
        trial.duplicates = rig.duplicates()
    finally:
        run.close()
    return trial


def crash_trial(rig: Rig, seed: int, state: str | None = None) -> Trial:
    """``kill -9`` of an apply at a seeded request (before it is sent, after the server acted
    but before the answer, or just after the answer), then the state store is opened and clean
    re-runs converge."""
    rng = random.Random(seed)
    trial = Trial(rig.name, seed)
    run = rig.fresh(state)
    try:
        target = rng.randint(1, max(1, rig.baseline_writes))
        moment = rng.choice(("before", "after", "delivered"))
        seen = 0
        child: subprocess.Popen[bytes] | None = None

        def hook(index: int, method: str, path: str) -> str | None:
            nonlocal seen
            if method in ("POST", "PUT", "PATCH", "DELETE"):
                seen += 1
                if seen == target:
                    return moment
            return None

        def kill() -> None:
            if child is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(child.pid, signal.SIGKILL)

        rig.proxy.configure(seed=seed, rate=0.0, hook=hook)
        rig.proxy.kill = kill
        child = run.spawn("apply", str(run.spec), "--auto-approve")
        try:
            child.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            child.kill()
            child.communicate()
            trial.problems.append("apply did not end within 120 s")
        trial.faults = Counter({f"kill-{moment}": 1 if child.returncode == -9 else 0})
        requests = rig.proxy.tally.requests
        rig.proxy.kill = lambda: None
        listed = run.cli("state", "list")
        if listed.code != 0 or listed.traceback:
            trial.problems.append(f"state unreadable after kill: {listed.output[-300:]}")
        converge(run, trial)
        requests += rig.proxy.tally.requests
        trial.extra_requests = requests - rig.baseline_requests
        trial.duplicates = rig.duplicates()
    finally:
        run.close()
    return trial


def _rows(rows: dict[str, Any] | list[Any]) -> list[Any]:
    return list(rows.values()) if isinstance(rows, dict) else rows


def _live(row: Any) -> bool:
    """False for a soft-deleted row (``deleted_at`` set, ``deleted`` true)."""
    if not isinstance(row, dict):
        return True
    return not (row.get("deleted_at") or row.get("deleted") is True or row.get("is_deleted"))


def garbled_trial(rig: Rig, seed: int) -> Trial:
    """One write of an apply acted on by the server but answered with JSON nested 10,000 deep
    (a hostile or broken server mid-apply), then clean re-runs."""
    target = random.Random(seed).randint(1, max(1, rig.baseline_writes))
    trial = Trial(rig.name, seed)
    run = rig.fresh()
    writes = 0

    def hook(index: int, method: str, path: str) -> str | None:
        nonlocal writes
        if method in ("POST", "PUT", "PATCH", "DELETE"):
            writes += 1
            return "garble" if writes == target else None
        return None

    try:
        rig.proxy.configure(seed=seed, rate=0.0, hook=hook)
        garbled = run.apply()
        trial.faults = Counter({"garbled": 1})
        if garbled.traceback or garbled.code not in (0, 1):
            trial.problems.append(f"garbled apply exit {garbled.code}: {garbled.output[-400:]}")
        converge(run, trial)
        trial.duplicates = rig.duplicates()
    finally:
        run.close()
    return trial


def canaries(run: Run) -> set[str]:
    """Every secret of a run: the provider's secret variables (and the parts of a
    ``pss_*:`` token of 16 characters or more), and the one-time passwords the server issued."""
    found: set[str] = set()
    for name in SECRET_VARIABLES[run.rig.name]:
        value = run.env[name]
        found.add(value)
        found.update(part for part in value.split(":") if len(part) >= 16)
    passwords = run.rig.server.store.data.get("passwords", {})
    found.update(str(v) for v in passwords.values() if isinstance(v, str))
    found.update(
        str(v["password"]) for v in passwords.values() if isinstance(v, dict) and "password" in v
    )
    return found


def secrets_trial(rig: Rig, seed: int, rate: float = 0.25) -> Trial:
    """A faulted apply with debug logging, a re-run, a saved plan, a drift report and a run
    whose token is refused; every output, file written and the state store is scanned for the
    run's secrets. Files a secret is meant to go to (``store: {file: ...}``) must be 0600."""
    trial = Trial(rig.name, seed)
    run = rig.fresh()
    try:
        run.env["RECONCILER_LOG"] = "debug"
        rig.proxy.configure(seed=seed, rate=rate)
        outputs = [run.apply().output]
        trial.faults = Counter(rig.proxy.tally.faults)
        rig.proxy.configure(seed=0, rate=0.0)
        outputs.append(run.apply().output)
        outputs.append(run.cli("plan", str(run.spec), "--out", str(run.dir / "saved.plan")).output)
        outputs.append(run.cli("drift", str(run.spec), "--format", "json").output)
        outputs.append(run.cli("state", "list").output)
        refused = dict(run.env)
        secret = SECRET_VARIABLES[rig.name][0]
        run.env[secret] = run.env[secret][:-4] + "zzzz"  # a refused credential: error texts
        outputs.append(run.apply().output)
        run.env = refused
        found = canaries(run)
        trial.canaries = len(found)
        files = {
            str(path.relative_to(run.dir)): path.read_bytes()
            for path in run.dir.rglob("*")
            if path.is_file() and run.spec not in path.parents
        }
        texts = {f"output {i}": text.encode() for i, text in enumerate(outputs)}
        for name, data in {**texts, **files}.items():
            for value in found:
                if value.encode() in data:
                    if _meant_for(name, run):
                        trial.kept += 1
                    else:
                        trial.leaks.append(f"{name} holds a secret")
        for name in files:
            mode = (run.dir / name).stat().st_mode & 0o777
            if _meant_for(name, run) and mode & 0o077:
                trial.problems.append(f"{name} has mode {oct(mode)}, not 0600")
    finally:
        run.close()
    return trial


def _meant_for(name: str, run: Run) -> bool:
    """A file a spec names as a secret's store (``store: {file: ...}``)."""
    return any(f"file: {name}" in p.read_text() for p in run.spec.glob("*.yaml"))


@contextlib.contextmanager
def _cwd(path: Path) -> Iterator[None]:
    before = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


def timed(fn: Any, *args: Any, **kw: Any) -> tuple[Any, float]:
    started = time.monotonic()
    return fn(*args, **kw), time.monotonic() - started
