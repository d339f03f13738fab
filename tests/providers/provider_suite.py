"""The provider conformance suite: one set of tests every provider runs against its target.

Subclass ``ProviderSuite`` in ``tests/providers/test_<provider>_suite.py`` (the class name must
start with ``Test``). The suite drives the real engine (load, refresh, plan, apply, state store,
saved plans, export) against a real target: for an HTTP provider its sandbox over loopback.

The subclass contract
=====================

Required:

``provider: str``
    The plugin name (the spec section key), e.g. ``"phase"``.

``environment(self, tmp_path, request) -> dict[str, str]``
    Variables that connect the spec variants to a fresh target for ONE test: called once per
    test, before anything else. Reset or start what the test needs here (e.g.
    ``request.getfixturevalue("phase_sandbox")`` then ``POST /_sandbox/reset/``) and return the
    variables the specs reference (``${env:…}``) plus whatever the hooks need (a URL, a file
    path). The suite adds ``RECONCILER_FINGERPRINT_KEY`` and ``RECONCILER_STATE`` (a fresh
    state file under ``tmp_path``). A target may hold seeded objects, as long as the variants
    leave them alone (outside the prune scopes) or declare them.

``spec(self, variant) -> str``
    YAML text of a spec variant, one section for ``provider`` (nothing else):

    * ``"initial"``: objects to create (at least one create; keep it small: every test applies
      it);
    * ``"updated"``: the same objects with some attributes changed (at least one update),
      including the attribute ``out_of_band`` changes (see below);
    * ``"reduced"``: ``updated`` without some objects inside the section's ``prune`` scopes
      (at least one delete).

Hooks. Each receives ``env`` (what ``environment`` returned, plus the suite's variables). A hook
the provider cannot support returns ``None``: its test is skipped with a reason naming the
provider, unless ``strict = True`` (then ``None`` fails the test). Defaults return ``None``.

``out_of_band(self, env) -> OutOfBand | None``
    Called after ``initial`` was applied. Change one managed object outside the tool, as a
    person would in the system's console (Phase: ``POST /_sandbox/changes/``; memory: edit its
    JSON file), so that a fresh plan of ``initial`` has a change on it. Return the address and
    the drift grade expected (``Grade.CHANGED`` for an edit, ``Grade.MISSING`` for a delete).
    The object must be one the ``updated`` variant also changes: the suite saves a plan of
    ``updated`` before calling the hook and expects that plan to go stale.

``lose_create_answer(self, env) -> Address | None``
    Called after a plan of ``initial`` was made on the fresh target, before it is applied.
    Arrange that the create request of one object of ``initial`` is processed by the server but
    its answer never arrives (Phase: fault ``{"lost": 1, "only": "POST /v1/apps/"}``); return
    that object's address. The apply must still succeed (the object is looked up by natural key
    and adopted) and the server must hold it once (``live_count``).

``live_count(self, env, address) -> int``
    How many live server objects answer to ``address``'s natural key (asked directly of the
    target, not through the provider). Required when ``lose_create_answer`` is supported.

``throttle(self, env, retry_after) -> bool | None``
    Called after a plan of ``initial`` was made, before it is applied: the next request(s) of the
    target are answered ``429`` with ``Retry-After: <retry_after>`` seconds (the suite passes
    1). Return ``True`` when armed. The apply must succeed, and ``throttled(stats)`` of the
    provider's ``stats()`` must be positive afterwards.

``throttled(self, stats) -> int``
    The number of 429 answers waited out, from ``Provider.stats()``; default
    ``stats["throttled"]``.

``clear_faults(self, env) -> None``
    Called (in a ``finally``) after every test that armed a fault hook. Default: nothing.

What the suite provides to a subclass (do not redefine these names): the fixtures ``env`` (the
test's variables), ``specs`` (variant -> spec file path) and ``faults`` (clears faults at
teardown); the helpers ``plan(path, env)``, ``converge(path, env, allow_deletes=False)`` (plan,
apply, assert success and an empty next plan), ``assert_empty(path, env)``, ``failures(result)``
and ``unsupported(hook)``, for provider-specific tests added to the subclass.

Example (see ``test_memory_suite.py`` and ``test_phase_suite.py``)::

    class TestMemoryProvider(ProviderSuite):
        provider = "memory"
        def environment(self, tmp_path, request): return {"MEMORY_PATH": str(tmp_path / "m.json")}
        def spec(self, variant): return SPECS[variant]
        def out_of_band(self, env): ...edit the JSON file...; return OutOfBand(ADDRESS)

What is checked, for every provider: the variants compile; ``initial`` creates everything, reads
back equal and converges (the next plan is empty); ``updated`` updates; ``reduced`` prunes; a
plan applied a second time is refused as stale (nothing created twice); an out-of-band change
is reported as graded drift and a re-apply restores it; an exported spec plans no changes; a
saved plan goes stale after an out-of-band change (``apply --plan`` is refused with a fresh
plan); a create whose answer was lost is adopted, not duplicated; a 429 with ``Retry-After`` is
waited out.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pytest

from reconciler.address import Address
from reconciler.apply.result import ApplyResult, Status
from reconciler.engine import Session, export, read_plan, save_plan
from reconciler.errors import StalePlanError
from reconciler.model.resource import JSON
from reconciler.plan.change import Action
from reconciler.plan.drift import Grade
from reconciler.plan.plan import Plan
from reconciler.providers.registry import plugins

VARIANTS = ("initial", "updated", "reduced")
RETRY_AFTER = 1  # seconds: small, so the throttle test stays fast


@dataclass(frozen=True)
class OutOfBand:
    """What ``out_of_band`` changed: the object, and the drift grade a report must give it."""

    address: Address
    grade: Grade = Grade.CHANGED


class ProviderSuite:
    """Base class of a provider's conformance tests; see the module docstring for the contract."""

    provider: ClassVar[str] = ""
    strict: ClassVar[bool] = False

    # -- the subclass contract ------------------------------------------------------------

    def environment(self, tmp_path: Path, request: pytest.FixtureRequest) -> dict[str, str]:
        """Variables that connect the spec variants to a fresh target (see the docstring)."""
        raise NotImplementedError

    def spec(self, variant: str) -> str:
        """YAML text of a spec variant (``initial``, ``updated`` or ``reduced``)."""
        raise NotImplementedError

    def out_of_band(self, env: Mapping[str, str]) -> OutOfBand | None:
        return None

    def lose_create_answer(self, env: Mapping[str, str]) -> Address | None:
        return None

    def live_count(self, env: Mapping[str, str], address: Address) -> int:
        raise NotImplementedError(f"{self.provider}: live_count is needed by lose_create_answer")

    def throttle(self, env: Mapping[str, str], retry_after: int) -> bool | None:
        return None

    def throttled(self, stats: Mapping[str, JSON]) -> int:
        value = stats.get("throttled", 0)
        return int(value) if isinstance(value, int | float) else 0

    def clear_faults(self, env: Mapping[str, str]) -> None:
        return None

    # -- fixtures and helpers -------------------------------------------------------------

    @pytest.fixture
    def env(self, tmp_path: Path, request: pytest.FixtureRequest) -> dict[str, str]:
        return {
            **self.environment(tmp_path, request),
            "RECONCILER_FINGERPRINT_KEY": "5e" * 32,
            "RECONCILER_STATE": str(tmp_path / "state" / "state.db"),
        }

    @pytest.fixture
    def specs(self, tmp_path: Path) -> dict[str, Path]:
        out = {}
        for variant in VARIANTS:
            path = tmp_path / "specs" / variant / "spec.yaml"
            path.parent.mkdir(parents=True)
            path.write_text(self.spec(variant), encoding="utf-8")
            out[variant] = path
        return out

    @pytest.fixture
    def faults(self, env: dict[str, str]) -> Iterator[None]:
        """Clears injected faults after the test, whatever happened."""
        try:
            yield
        finally:
            self.clear_faults(env)

    def unsupported(self, hook: str) -> None:
        """A hook answered ``None``: skip, naming the provider (fail when ``strict``)."""
        message = f"provider {self.provider!r} does not support the {hook} hook"
        if self.strict:
            pytest.fail(message + " (the suite is strict for it)")
        pytest.skip(message)

    @staticmethod
    def plan(path: Path, env: Mapping[str, str], allow_deletes: bool = False) -> Plan:
        with Session(path, env=env) as session:
            return session.make_plan(allow_deletes=allow_deletes)

    @staticmethod
    def failures(result: ApplyResult) -> list[str]:
        return [r.line() for r in result.results if r.status is not Status.APPLIED]

    @staticmethod
    def assert_empty(path: Path, env: Mapping[str, str]) -> None:
        after = ProviderSuite.plan(path, env)
        assert after.empty, [f"{c.action} {c.address}" for c in after.executable]

    @staticmethod
    def converge(path: Path, env: Mapping[str, str], allow_deletes: bool = False) -> Plan:
        """Plan and apply the spec; assert success and that the next plan is empty."""
        with Session(path, env=env) as session:
            plan = session.make_plan(allow_deletes=allow_deletes)
            assert not plan.refused, plan.violations
            result = session.apply(plan)
            assert result.ok, ProviderSuite.failures(result)
        ProviderSuite.assert_empty(path, env)
        return plan

    # -- create, update, prune --------------------------------------------------------------

    def test_spec_variants_are_valid(self, specs: dict[str, Path], env: dict[str, str]) -> None:
        for path in specs.values():
            with Session(path, env=env) as session:
                assert session.spec.desired.of_provider(self.provider)
                assert set(session.spec.sections) == {self.provider}

    def test_create_reads_back_and_converges(
        self, specs: dict[str, Path], env: dict[str, str]
    ) -> None:
        plan = self.converge(specs["initial"], env)
        assert plan.executable, "the initial variant should create something"
        assert all(c.action is Action.CREATE for c in plan.executable), [
            f"{c.action} {c.address}" for c in plan.executable
        ]
        with Session(specs["initial"], env=env) as session:
            live = session.refresh()
            for address, desired in session.spec.desired.items():
                assert address in live, f"{address} not read back after create"
                got = live[address]
                if got.pending:
                    continue
                for name, value in desired.attributes.items():
                    assert got.attributes.get(name) == value, f"{address}.{name}"

    def test_update_converges(self, specs: dict[str, Path], env: dict[str, str]) -> None:
        self.converge(specs["initial"], env)
        plan = self.converge(specs["updated"], env)
        assert any(c.action is Action.UPDATE for c in plan.executable)

    def test_prune_deletes_and_converges(self, specs: dict[str, Path], env: dict[str, str]) -> None:
        self.converge(specs["updated"], env)
        plan = self.converge(specs["reduced"], env, allow_deletes=True)
        deleted = {c.address for c in plan.executable if c.action is Action.DELETE}
        assert deleted, "the reduced variant should delete something"
        with Session(specs["reduced"], env=env) as session:
            live = session.refresh()
        assert not deleted & set(live)

    def test_a_plan_applied_twice_creates_nothing_twice(
        self, specs: dict[str, Path], env: dict[str, str]
    ) -> None:
        """Applying a plan again (a reviewed plan re-submitted after it ran) is refused as
        stale: its creates now exist. Nothing is created twice; a re-plan is empty."""
        with Session(specs["initial"], env=env) as session:
            plan = session.make_plan()
            first = session.apply(plan)
            assert first.ok, self.failures(first)
            with pytest.raises(StalePlanError) as info:
                session.apply_saved(plan)
            created = {str(c.address) for c in plan.executable if c.action is Action.CREATE}
            assert created <= set(info.value.addresses)
            live = session.refresh()
        addresses: list[Address] = list(live)
        assert len(addresses) == len(set(addresses))
        self.assert_empty(specs["initial"], env)

    # -- drift, export, saved plans ---------------------------------------------------------

    def test_out_of_band_change_is_graded_drift(
        self, specs: dict[str, Path], env: dict[str, str]
    ) -> None:
        self.converge(specs["initial"], env)
        changed = self.out_of_band(env)
        if changed is None:
            self.unsupported("out_of_band")
            return
        with Session(specs["initial"], env=env) as session:
            _, report = session.drift()
        assert report.drift
        grades = {f.address: f.grade for f in report.findings}
        assert grades.get(str(changed.address)) is changed.grade, report.findings
        self.converge(specs["initial"], env)  # apply restores what git says

    def test_export_plans_no_changes(
        self, specs: dict[str, Path], env: dict[str, str], tmp_path: Path
    ) -> None:
        if plugins()[self.provider].export is None:
            self.unsupported("export (plugin)")
            return
        self.converge(specs["initial"], env)
        out = tmp_path / "exported" / "spec.yaml"
        export(self.provider, out, env=env)
        self.assert_empty(out, env)

    def test_saved_plan_goes_stale_after_out_of_band_change(
        self, specs: dict[str, Path], env: dict[str, str], tmp_path: Path
    ) -> None:
        self.converge(specs["initial"], env)
        saved = tmp_path / "reviewed.json"
        with Session(specs["updated"], env=env) as session:
            save_plan(session.make_plan(), saved)
        changed = self.out_of_band(env)
        if changed is None:
            self.unsupported("out_of_band")
            return
        reviewed = read_plan(saved)
        assert str(changed.address) in reviewed.live_fingerprints, (
            f"out_of_band changed {changed.address}, which the updated variant does not change"
        )
        with Session(specs["updated"], env=env) as session:
            with pytest.raises(StalePlanError) as info:
                session.apply_saved(reviewed)
            assert str(changed.address) in info.value.addresses
            replan = info.value.replan
            assert isinstance(replan, Plan) and not replan.refused
            assert changed.address in {c.address for c in replan.executable}
            # Nothing was applied: the fresh plan still holds every reviewed change.
            assert {c.address for c in reviewed.executable} <= {
                c.address for c in replan.executable
            }
        self.converge(specs["updated"], env)

    # -- faults -----------------------------------------------------------------------------

    @pytest.mark.usefixtures("faults")
    def test_lost_answer_on_create_is_adopted(
        self, specs: dict[str, Path], env: dict[str, str]
    ) -> None:
        with Session(specs["initial"], env=env) as session:
            plan = session.make_plan()
            lost = self.lose_create_answer(env)
            if lost is None:
                self.unsupported("lose_create_answer")
                return
            assert lost in {c.address for c in plan.executable if c.action is Action.CREATE}
            result = session.apply(plan)
            self.clear_faults(env)
            assert result.ok, self.failures(result)
        assert self.live_count(env, lost) == 1, f"{lost} created more than once"
        self.assert_empty(specs["initial"], env)

    @pytest.mark.usefixtures("faults")
    def test_throttled_requests_wait_retry_after(
        self, specs: dict[str, Path], env: dict[str, str]
    ) -> None:
        with Session(specs["initial"], env=env) as session:
            plan = session.make_plan()
            if not self.throttle(env, RETRY_AFTER):
                self.unsupported("throttle")
                return
            result = session.apply(plan)
            self.clear_faults(env)
            assert result.ok, self.failures(result)
            stats: dict[str, Any] = session.providers[self.provider].stats()
        assert self.throttled(stats) > 0, stats
        self.assert_empty(specs["initial"], env)
