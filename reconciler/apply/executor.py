"""The executor: runs a plan's changes against providers, respecting ``depends_on``.

Contract of ``execute``:

* Every change gets exactly one result, in plan order (see ``apply/result.py``).
* A change runs only after every change it depends on (inside this plan) was applied; changes
  with no unmet dependency run in parallel, at most ``concurrency`` at a time. Ready changes
  start in plan order, and results are recorded in plan order among those that finish together,
  so with ``concurrency=1`` the event sequence is fully deterministic.
* ``deferred`` changes are never executed, and neither is a change that depends on one (it is
  reported deferred too: it waits for the same pending object).
* A failing change (``ReconcilerError``; any other exception is reported as
  ``internal error: <type>``, without its text or traceback, since it might hold a secret) marks
  its transitive dependents ``skipped``; independent changes continue.
* After a successful change the store learns its server id (``set_id``), the fingerprint of
  each write-only attribute it now holds (``set_fingerprint``), or forgets a deleted object.
  Store writes happen on the calling thread, one at a time.
* Every message passes through redaction with the plan's secrets as a last line of defence.

Running it again after a partial failure completes the work: providers make creates idempotent
by natural key, and a fresh plan only holds what is still missing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from reconciler.address import Address
from reconciler.apply.result import ApplyResult, ChangeResult, Event, Status
from reconciler.errors import AddressedError, ReconcilerError
from reconciler.model.resource import Resource
from reconciler.plan.change import Action, Change
from reconciler.plan.plan import Plan
from reconciler.providers.base import Outcome, Provider
from reconciler.secrets.redact import redact
from reconciler.secrets.value import Secret
from reconciler.state.store import StateStore, now

_FINGERPRINT_PREFIX = "hmac-"


def execute(
    plan: Plan,
    providers: Mapping[str, Provider],
    store: StateStore,
    *,
    concurrency: int = 4,
    on_event: Callable[[Event], None] | None = None,
) -> ApplyResult:
    """Apply ``plan.changes`` (see the module docstring). Never raises for a change's failure."""
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    run = _Run(plan, providers, store, on_event)
    return run.execute(concurrency)


class _Run:
    """State of one execution; only the calling thread touches it."""

    def __init__(
        self,
        plan: Plan,
        providers: Mapping[str, Provider],
        store: StateStore,
        on_event: Callable[[Event], None] | None,
    ) -> None:
        self.changes = plan.changes
        self.plan = plan
        self._digest: str | None = None  # names the run that set a write-only value (lazy)
        self.providers = providers
        self.store = store
        self.on_event = on_event
        self.secrets: list[Secret] = [
            s for c in plan.changes if c.desired is not None for s in c.desired.secrets.values()
        ]
        index: dict[Address, int] = {}
        for i, change in enumerate(self.changes):
            index.setdefault(change.address, i)
        # Dependencies outside the plan are already satisfied (nothing to do for them), and so
        # are changes the system cannot apply (``cannot_apply``: their object exists).
        self.deps: list[set[int]] = [
            {
                index[a]
                for a in c.depends_on
                if a in index and index[a] != i and not self.changes[index[a]].cannot_apply
            }
            for i, c in enumerate(self.changes)
        ]
        self.dependents: list[set[int]] = [set() for _ in self.changes]
        for i, deps in enumerate(self.deps):
            for d in deps:
                self.dependents[d].add(i)
        self.results: dict[int, ChangeResult] = {}

    # -- events and results ---------------------------------------------------------------

    def _emit(self, event: Event) -> None:
        if self.on_event is not None:
            self.on_event(event)

    def _finish(self, i: int, result: ChangeResult) -> None:
        self.results[i] = result
        self._emit(Event("finished", self.changes[i], result))

    def _redact(self, text: str) -> str:
        return redact(text, self.secrets)

    # -- scheduling -----------------------------------------------------------------------

    def execute(self, concurrency: int) -> ApplyResult:
        started = time.monotonic()
        self._defer()
        waiting = [i for i in range(len(self.changes)) if i not in self.results]
        with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="apply") as pool:
            running: dict[Future[tuple[Outcome, float]], tuple[int, float]] = {}
            while waiting or running:
                for i in [i for i in waiting if self._ready(i)]:
                    if len(running) >= concurrency:
                        break
                    waiting.remove(i)
                    self._emit(Event("started", self.changes[i]))
                    running[pool.submit(self._call, self.changes[i])] = (i, time.monotonic())
                if not running:
                    # Nothing runs and nothing can start: dependencies that can never be met.
                    for i in waiting:
                        self._finish(i, self._skip(i, "dependencies were not applied"))
                    break
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in sorted(done, key=lambda f: running[f][0]):
                    i, t0 = running.pop(future)
                    result = self._record(i, future, time.monotonic() - t0)
                    self._finish(i, result)
                    if result.status is Status.FAILED:
                        self._skip_dependents(i, waiting)
        ordered = tuple(self.results[i] for i in range(len(self.changes)))
        return ApplyResult(ordered, time.monotonic() - started)

    def _defer(self) -> None:
        """Deferred changes and everything that (transitively) waits for one."""
        deferred: dict[int, str] = {}
        for i, change in enumerate(self.changes):
            if change.action is Action.DEFERRED:
                deferred[i] = change.reason or "deferred"
        frontier = list(deferred)
        while frontier:
            d = frontier.pop()
            for j in sorted(self.dependents[d]):
                if j not in deferred:
                    deferred[j] = f"waits for deferred {self.changes[d].address}"
                    frontier.append(j)
        for i in sorted(deferred):
            change = self.changes[i]
            self._finish(
                i, ChangeResult(change.address, change.action, Status.DEFERRED, deferred[i])
            )

    def _ready(self, i: int) -> bool:
        return all(
            d in self.results and self.results[d].status is Status.APPLIED for d in self.deps[i]
        )

    def _skip(self, i: int, message: str) -> ChangeResult:
        change = self.changes[i]
        return ChangeResult(change.address, change.action, Status.SKIPPED, message)

    def _skip_dependents(self, failed: int, waiting: list[int]) -> None:
        cause = self.changes[failed].address
        closure: set[int] = set()
        frontier = [failed]
        while frontier:
            for j in self.dependents[frontier.pop()]:
                if j not in closure:
                    closure.add(j)
                    frontier.append(j)
        for j in sorted(closure):
            if j in waiting:
                waiting.remove(j)
                self._finish(j, self._skip(j, f"depends on failed {cause}"))

    # -- one change -----------------------------------------------------------------------

    def _call(self, change: Change) -> tuple[Outcome, float]:
        """Runs on a worker thread: the provider call only."""
        provider = self.providers.get(change.address.provider)
        if provider is None:
            raise AddressedError(change.address, f"no provider {change.address.provider!r} is open")
        t0 = time.monotonic()
        outcome = provider.apply(change)
        return outcome, time.monotonic() - t0

    def _record(
        self, i: int, future: Future[tuple[Outcome, float]], elapsed: float
    ) -> ChangeResult:
        change = self.changes[i]
        try:
            outcome, duration = future.result()
        except ReconcilerError as exc:
            message = exc.message if isinstance(exc, AddressedError) else str(exc)
            return ChangeResult(
                change.address, change.action, Status.FAILED, self._redact(message), elapsed
            )
        except Exception as exc:
            # Unknown exception text might quote a request body: report the type only.
            return ChangeResult(
                change.address,
                change.action,
                Status.FAILED,
                f"internal error: {type(exc).__name__}",
                elapsed,
            )
        try:
            self._remember(change, outcome)
        except ReconcilerError as exc:
            return ChangeResult(
                change.address,
                change.action,
                Status.FAILED,
                self._redact(f"applied, but recording it in state failed: {exc}"),
                duration,
            )
        note = outcome.message
        if outcome.pending:
            note = f"pending: {outcome.pending}" + (f"; {note}" if note else "")
        return ChangeResult(
            change.address,
            change.action,
            Status.APPLIED,
            self._redact(note) if note else None,
            duration,
            server_id=outcome.server_id,
            pending=outcome.pending,
        )

    def _remember(self, change: Change, outcome: Outcome) -> None:
        if change.action is Action.DELETE:
            self.store.forget(change.address)
            return
        if outcome.server_id is not None:
            self.store.set_id(change.address, outcome.server_id)
        desired = change.desired
        if desired is None:
            return
        fingerprints = _fingerprints(desired, self.store)
        for attribute, fingerprint in fingerprints:
            self.store.set_fingerprint(change.address, attribute, fingerprint)
        changed = {d.path for d in change.diffs if d.sensitive}
        sent = [a for a, _ in fingerprints if change.action is Action.CREATE or a in changed]
        if sent:
            # when, and by which plan, each write-only value was last sent (``reconciler access``)
            kept = self.store.get_record(change.address, "secrets_set")
            record = dict(kept) if isinstance(kept, Mapping) else {}
            if self._digest is None:
                self._digest = self.plan.digest[:12]
            record.update({a: {"at": now(), "plan": self._digest} for a in sent})
            self.store.set_record(change.address, "secrets_set", record)


def _fingerprints(desired: Resource, store: StateStore) -> list[tuple[str, str]]:
    """(attribute, fingerprint) of each write-only attribute the desired resource sets.

    The secret, when attached, is the truth (the attribute may hold the ``(sensitive)`` mask of
    a saved plan); otherwise a fingerprint already computed by the loader is used.
    """
    out: list[tuple[str, str]] = []
    for name in sorted(desired.sensitive):
        secret = desired.secrets.get(name)
        if secret is not None:
            out.append((name, secret.fingerprint(store.fingerprint_key)))
            continue
        value = desired.attributes.get(name)
        if isinstance(value, str) and value.startswith(_FINGERPRINT_PREFIX):
            out.append((name, value))
    return out
