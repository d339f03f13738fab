"""Executor: dependency order, concurrency bound, failure isolation, deferral, state recording."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from reconciler.address import Address
from reconciler.apply.executor import execute
from reconciler.apply.result import Event, Status
from reconciler.errors import ProviderError
from reconciler.model.resource import JSON, Resource
from reconciler.model.state import State
from reconciler.plan.change import Action, Change
from reconciler.plan.plan import Plan, Violation
from reconciler.providers.base import Capabilities, Outcome
from reconciler.providers.memory import LiveStore, MemoryProvider
from reconciler.secrets.value import Secret
from reconciler.state.sqlite import SQLiteStateStore


def addr(name: str, kind: str = "item") -> Address:
    return Address("fake", kind, name)


def change(
    name: str, *deps: str, action: Action = Action.CREATE, reason: str | None = None
) -> Change:
    a = addr(name)
    r = Resource(a, {"value": name})
    return Change(
        action,
        a,
        desired=None if action is Action.DELETE else r,
        live=r if action is Action.DELETE else None,
        depends_on=tuple(addr(d) for d in deps),
        reason=reason,
    )


def plan_of(*changes: Change) -> Plan:
    return Plan(spec_path="spec.yaml", spec_digest="0" * 64, changes=tuple(changes))


class FakeProvider:
    """Records call order and the peak number of concurrent calls."""

    name = "fake"
    capabilities = Capabilities(kinds=("item",))

    def __init__(self, delay: float = 0.0, fail: dict[str, Exception] | None = None) -> None:
        self.delay = delay
        self.fail = fail or {}
        self.calls: list[str] = []
        self.active = 0
        self.peak = 0
        self._lock = threading.Lock()

    def target(self) -> str:
        return "fake:test"

    def read(self, desired: State, only: frozenset[Address] | None = None) -> State:
        return State()

    def refine(self, changes: Sequence[Change], desired: State, live: State) -> list[Change]:
        return list(changes)

    def check(self, changes: Sequence[Change], desired: State, live: State) -> list[Violation]:
        return []

    def apply(self, change: Change) -> Outcome:
        with self._lock:
            self.active += 1
            self.peak = max(self.peak, self.active)
            self.calls.append(change.address.name)
        try:
            time.sleep(self.delay)
            exc = self.fail.get(change.address.name)
            if exc is not None:
                raise exc
            return Outcome(server_id=f"id-{change.address.name}")
        finally:
            with self._lock:
                self.active -= 1

    def stats(self) -> dict[str, JSON]:
        return {"requests": len(self.calls)}

    def close(self) -> None:
        pass


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStateStore]:
    s = SQLiteStateStore(tmp_path / "state.db", fingerprint_key=b"k" * 32)
    yield s
    s.close()


def test_dependencies_run_first_and_events_are_ordered(store: SQLiteStateStore) -> None:
    provider = FakeProvider()
    events: list[Event] = []
    # "c" comes first in the plan but waits for "b", which waits for "a".
    plan = plan_of(change("c", "b"), change("a"), change("b", "a"), change("d"))
    result = execute(plan, {"fake": provider}, store, concurrency=1, on_event=events.append)
    assert result.ok and result.counts()["applied"] == 4
    # Ready changes start in plan order: a, then b (now ready, before d), then c, then d.
    assert provider.calls == ["a", "b", "c", "d"]
    seq = [(e.kind, e.change.address.name) for e in events]
    assert seq == [(k, n) for n in "abcd" for k in ("started", "finished")]
    assert [r.address.name for r in result.results] == ["c", "a", "b", "d"]  # plan order
    assert store.get_id(addr("c")) == "id-c"


def test_concurrency_is_bounded_and_used(store: SQLiteStateStore) -> None:
    provider = FakeProvider(delay=0.05)
    plan = plan_of(*(change(f"n{i}") for i in range(12)))
    started = time.monotonic()
    result = execute(plan, {"fake": provider}, store, concurrency=3)
    assert result.ok
    assert provider.peak == 3
    assert time.monotonic() - started < 12 * 0.05  # ran in parallel


def test_failure_skips_transitive_dependents_only(store: SQLiteStateStore) -> None:
    provider = FakeProvider(fail={"b": ProviderError(addr("b"), "HTTP 500: upstream broke")})
    plan = plan_of(
        change("a"),
        change("b", "a"),
        change("c", "b"),
        change("d", "c"),
        change("e", "a"),
        change("f"),
    )
    result = execute(plan, {"fake": provider}, store, concurrency=2)
    status = {r.address.name: r.status for r in result.results}
    assert status == {
        "a": Status.APPLIED,
        "b": Status.FAILED,
        "c": Status.SKIPPED,
        "d": Status.SKIPPED,
        "e": Status.APPLIED,
        "f": Status.APPLIED,
    }
    assert not result.ok
    by_name = {r.address.name: r for r in result.results}
    assert by_name["b"].message == "HTTP 500: upstream broke"
    assert by_name["b"].line().startswith("failed fake.item.b (")
    assert by_name["d"].message == "depends on failed fake.item.b"
    assert "c" not in provider.calls and "d" not in provider.calls
    assert result.counts() == {"applied": 3, "skipped": 2, "failed": 1, "deferred": 0}


def test_unexpected_exception_reports_type_only(store: SQLiteStateStore) -> None:
    provider = FakeProvider(fail={"a": KeyError("secret-value-xyz")})
    result = execute(plan_of(change("a"), change("b", "a")), {"fake": provider}, store)
    a, b = result.results
    assert a.status is Status.FAILED and a.message == "internal error: KeyError"
    assert b.status is Status.SKIPPED


def test_deferred_are_not_executed_nor_their_dependents(store: SQLiteStateStore) -> None:
    provider = FakeProvider()
    plan = plan_of(
        change("m", action=Action.DEFERRED, reason="invite not accepted"),
        change("g", "m"),
        change("x"),
    )
    result = execute(plan, {"fake": provider}, store)
    status = {r.address.name: (r.status, r.message) for r in result.results}
    assert status["m"] == (Status.DEFERRED, "invite not accepted")
    assert status["g"] == (Status.DEFERRED, "waits for deferred fake.item.m")
    assert status["x"] == (Status.APPLIED, None)
    assert provider.calls == ["x"]
    assert result.ok


def test_secret_in_error_message_is_redacted(store: SQLiteStateStore) -> None:
    a = addr("a")
    desired = Resource(
        a, {"token": None}, sensitive=frozenset({"token"}), secrets={"token": Secret("p4ss-w0rd")}
    )
    provider = FakeProvider(fail={"a": ProviderError(a, "rejected token p4ss-w0rd")})
    result = execute(plan_of(Change(Action.CREATE, a, desired=desired)), {"fake": provider}, store)
    assert result.results[0].message == "rejected token (sensitive)"


def test_memory_provider_fingerprints_ids_forget_and_rerun(tmp_path: Path) -> None:
    store = SQLiteStateStore(tmp_path / "state.db", fingerprint_key=b"k" * 32)
    live = LiveStore(str(tmp_path / "live.json"))
    group = Address("memory", "group", "g")
    item = Address("memory", "item", "i")
    old = Address("memory", "group", "old")
    secret = Secret("tok")
    changes = (
        Change(Action.CREATE, group, desired=Resource(group, {"description": ""})),
        Change(
            Action.CREATE,
            item,
            desired=Resource(
                item,
                {"group": "g", "owner": None, "value": "1", "tags": [], "token": None},
                sensitive=frozenset({"token"}),
                depends_on=frozenset({group}),
                secrets={"token": secret},
            ),
            depends_on=(group,),
        ),
    )
    store.set_id(old, "stale")
    failing = MemoryProvider(live, fail={str(group): "HTTP 503"})
    first = execute(plan_of(*changes), {"memory": failing}, store)
    assert [r.status for r in first.results] == [Status.FAILED, Status.SKIPPED]

    provider = MemoryProvider(live)
    delete_old = Change(Action.DELETE, old, live=Resource(old, {"description": ""}))
    second = execute(plan_of(*changes, delete_old), {"memory": provider}, store)
    assert second.ok
    assert store.get_id(item) == live.objects[str(item)]["id"]
    assert store.get_fingerprint(item, "token") == secret.fingerprint(b"k" * 32)
    assert store.get_id(old) is None
    store.close()


def test_a_failure_in_one_provider_does_not_stop_another(store: SQLiteStateStore) -> None:
    """Two providers in one plan: the failing one's dependents are skipped, the other's
    changes all apply; the result is grouped per provider."""
    other = FakeProvider()
    failing = FakeProvider(fail={"root": ProviderError(addr("root"), "HTTP 400: refused")})

    def of(provider: str, name: str, *deps: str) -> Change:
        a = Address(provider, "item", name)
        return Change(
            Action.CREATE,
            a,
            desired=Resource(a, {"value": name}),
            depends_on=tuple(Address(provider, "item", d) for d in deps),
        )

    plan = plan_of(
        of("fake", "root"),
        of("other", "one"),
        of("fake", "child", "root"),
        of("other", "two", "one"),
        of("fake", "free"),
    )
    result = execute(plan, {"fake": failing, "other": other}, store, concurrency=1)
    status = {str(r.address): r.status for r in result.results}
    assert status == {
        "fake.item.root": Status.FAILED,
        "other.item.one": Status.APPLIED,
        "fake.item.child": Status.SKIPPED,
        "other.item.two": Status.APPLIED,
        "fake.item.free": Status.APPLIED,
    }
    assert other.calls == ["one", "two"]
    assert result.by_provider() == {
        "fake": {"applied": 1, "skipped": 1, "failed": 1, "deferred": 0},
        "other": {"applied": 2, "skipped": 0, "failed": 0, "deferred": 0},
    }
    assert result.provider_lines() == [
        "fake: 1 applied, 1 skipped, 1 failed, 0 deferred",
        "other: 2 applied, 0 skipped, 0 failed, 0 deferred",
    ]
    assert result.to_dict()["providers"] == result.by_provider()
    single = execute(plan_of(of("other", "three")), {"other": other}, store)
    assert single.provider_lines() == []  # one provider: the summary says it all
