"""Session: one spec set opened for work (state store, loaded spec, connected providers).

Its methods are the engine's steps bound to that spec set; see ``reconciler.engine``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from pydantic import BaseModel

from reconciler.address import Address
from reconciler.apply.result import ApplyResult, Event
from reconciler.engine.reading import close_providers, load, make_plan, open_providers, refresh
from reconciler.engine.running import apply, apply_saved, drift
from reconciler.engine.saved import verify_saved_plan
from reconciler.model.state import State
from reconciler.plan.plan import Plan
from reconciler.providers.base import ProviderPlugin
from reconciler.secrets.value import Secret
from reconciler.spec.spec import Spec
from reconciler.state.open import open_store
from reconciler.state.store import StateStore

if TYPE_CHECKING:
    from reconciler.plan.drift import DriftReport


class Session:
    """One spec set opened for work; close it (or use ``with``) to release providers and state.

    ``store`` may be given (tests); otherwise it is opened by ``open_store``. Raises
    ``SpecErrors`` for a bad spec and ``StateError`` for an unusable store.
    """

    def __init__(
        self,
        spec_path: Path,
        *,
        env: Mapping[str, str] | None = None,
        store: StateStore | None = None,
        registry: Mapping[str, ProviderPlugin] | None = None,
    ) -> None:
        self._own_store = store is None
        self.store = open_store(spec_path, env) if store is None else store
        try:
            self.spec = load(spec_path, self.store, env=env)
            self.providers = open_providers(self.spec, self.store, registry)
        except BaseException:
            if self._own_store:
                self.store.close()
            raise

    def refresh(self, only: frozenset[Address] | None = None) -> State:
        return refresh(self.spec, self.providers, self.store, only)

    def make_plan(self, *, allow_deletes: bool = False) -> Plan:
        return make_plan(self.spec, self.providers, self.store, allow_deletes=allow_deletes)

    def verify_saved_plan(self, plan: Plan, *, allow_deletes: bool = False) -> Plan:
        return verify_saved_plan(
            plan, self.spec, self.providers, self.store, allow_deletes=allow_deletes
        )

    def apply(
        self,
        plan: Plan,
        *,
        concurrency: int = 4,
        on_event: Callable[[Event], None] | None = None,
        holder: str | None = None,
    ) -> ApplyResult:
        return apply(
            plan,
            self.providers,
            self.store,
            concurrency=concurrency,
            on_event=on_event,
            holder=holder,
        )

    def apply_saved(
        self,
        plan: Plan,
        *,
        concurrency: int = 4,
        on_event: Callable[[Event], None] | None = None,
        holder: str | None = None,
        allow_deletes: bool = False,
    ) -> ApplyResult:
        return apply_saved(
            plan,
            self.spec,
            self.providers,
            self.store,
            concurrency=concurrency,
            on_event=on_event,
            holder=holder,
            allow_deletes=allow_deletes,
        )

    def drift(self) -> tuple[Plan, DriftReport]:
        return drift(self.spec, self.providers, self.store)

    def close(self) -> None:
        close_providers(self.providers)
        if self._own_store:
            self.store.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def spec_secrets(spec: Spec) -> list[Secret]:
    """Every secret a loaded spec holds (connection blocks and write-only values), for
    redacting output as a last line of defence."""
    found: list[Secret] = []

    def walk(value: object) -> None:
        if isinstance(value, Secret):
            found.append(value)
        elif isinstance(value, BaseModel):
            for name in type(value).model_fields:
                walk(getattr(value, name))
        elif isinstance(value, Mapping):
            for v in value.values():
                walk(v)
        elif isinstance(value, list | tuple | set | frozenset):
            for v in value:
                walk(v)

    for section in spec.sections.values():
        walk(section)
    for resource in spec.desired.resources():
        found.extend(resource.secrets.values())
    # The same Secret object is reachable from its section and from its resource.
    return list({id(s): s for s in found}.values())
