"""A reusable conformance suite every provider runs (subclass ``ProviderSuite``).

A subclass names its provider and supplies three spec variants plus the environment that
connects them to a fresh target (a sandbox, a temporary file):

* ``initial``: objects to create;
* ``updated``: the same objects with some attributes changed;
* ``reduced``: ``updated`` without some objects inside a ``prune`` scope.

The suite drives the real engine (load, refresh, plan, apply, state store) and checks the
provider contract: creates, reads back equal to the desired state, updates, deletes, safe
retries of a create, and *convergence*: after every successful apply, a new plan is empty.

Example (see ``test_memory_suite.py``)::

    class TestMemory(ProviderSuite):
        provider = "memory"
        def environment(self, tmp_path): return {"MEMORY_PATH": str(tmp_path / "live.json")}
        def spec(self, variant): return SPECS[variant]
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest

from reconciler.address import Address
from reconciler.apply.result import Status
from reconciler.engine import Session, export
from reconciler.plan.change import Action
from reconciler.plan.plan import Plan
from reconciler.providers.registry import plugins

VARIANTS = ("initial", "updated", "reduced")


class ProviderSuite:
    """Base class of a provider's conformance tests; see the module docstring."""

    provider: str = ""

    def environment(self, tmp_path: Path) -> dict[str, str]:
        """Variables that connect the spec variants to a fresh, empty target."""
        raise NotImplementedError

    def spec(self, variant: str) -> str:
        """YAML text of a spec variant (``initial``, ``updated`` or ``reduced``)."""
        raise NotImplementedError

    # -- helpers --------------------------------------------------------------------------

    @pytest.fixture
    def env(self, tmp_path: Path) -> dict[str, str]:
        env = {
            **self.environment(tmp_path),
            "RECONCILER_FINGERPRINT_KEY": "5e" * 32,
            "RECONCILER_STATE": str(tmp_path / "state" / "state.db"),
        }
        return env

    @pytest.fixture
    def specs(self, tmp_path: Path) -> dict[str, Path]:
        out = {}
        for variant in VARIANTS:
            path = tmp_path / "specs" / variant / "spec.yaml"
            path.parent.mkdir(parents=True)
            path.write_text(self.spec(variant), encoding="utf-8")
            out[variant] = path
        return out

    @staticmethod
    def plan(path: Path, env: Mapping[str, str], allow_deletes: bool = False) -> Plan:
        with Session(path, env=env) as session:
            return session.make_plan(allow_deletes=allow_deletes)

    @staticmethod
    def converge(path: Path, env: Mapping[str, str], allow_deletes: bool = False) -> Plan:
        """Plan and apply the spec; assert success and that the next plan is empty."""
        with Session(path, env=env) as session:
            plan = session.make_plan(allow_deletes=allow_deletes)
            assert not plan.refused, plan.violations
            result = session.apply(plan)
            assert result.ok, [r.line() for r in result.results if r.status is Status.FAILED]
        after = ProviderSuite.plan(path, env)
        assert after.empty, [f"{c.action} {c.address}" for c in after.executable]
        return plan

    # -- the contract ---------------------------------------------------------------------

    def test_spec_variants_are_valid(self, specs: dict[str, Path], env: dict[str, str]) -> None:
        for path in specs.values():
            with Session(path, env=env) as session:
                assert session.spec.desired.of_provider(self.provider)

    def test_create_reads_back_and_converges(
        self, specs: dict[str, Path], env: dict[str, str]
    ) -> None:
        plan = self.converge(specs["initial"], env)
        assert plan.executable and all(c.action is Action.CREATE for c in plan.executable)
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

    def test_delete_converges(self, specs: dict[str, Path], env: dict[str, str]) -> None:
        self.converge(specs["updated"], env)
        plan = self.converge(specs["reduced"], env, allow_deletes=True)
        deleted = {c.address for c in plan.executable if c.action is Action.DELETE}
        assert deleted, "the reduced variant should delete something"
        with Session(specs["reduced"], env=env) as session:
            live = session.refresh()
        assert not deleted & set(live)

    def test_retrying_a_create_does_not_duplicate(
        self, specs: dict[str, Path], env: dict[str, str]
    ) -> None:
        with Session(specs["initial"], env=env) as session:
            plan = session.make_plan()
            assert session.apply(plan).ok
            # The same creates again, as after a crash between the request and its journal.
            assert session.apply(plan).ok
            live = session.refresh()
        addresses: list[Address] = list(live)
        assert len(addresses) == len(set(addresses))
        assert self.plan(specs["initial"], env).empty

    def test_export_plans_no_changes(
        self, specs: dict[str, Path], env: dict[str, str], tmp_path: Path
    ) -> None:
        if plugins()[self.provider].export is None:
            pytest.skip("provider has no export")
        self.converge(specs["initial"], env)
        out = tmp_path / "exported" / "spec.yaml"
        export(self.provider, out, env=env)
        assert self.plan(out, env).empty
