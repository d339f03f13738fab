"""Engine: the orchestration behind every command (I/O allowed, printing not).

A ``Session`` is one spec set opened for work: its state store, the loaded ``Spec`` (desired
sensitive attributes fingerprinted with the store's key) and a connected ``Provider`` for each
provider section present. Its methods are the steps of the data flow in DESIGN.md::

    refresh()            provider.read for each provider, then write-only fingerprints from state
    make_plan()          refresh + build_plan (with request counts and wall time as stats)
    verify_saved_plan()  a saved plan is still valid: same spec, touched live objects unchanged
    apply()              refuses a refused plan, locks every target, executes
    apply_saved()        locks, verifies a reviewed plan under the locks, executes exactly it
    drift()              a drift report made from a fresh plan

``export`` writes a spec from a provider's live state (adoption). Module functions take their
inputs explicitly so tests can drive each step alone.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import getpass
import json
import os
import socket
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from reconciler.address import Address
from reconciler.apply.executor import execute
from reconciler.apply.result import ApplyResult, Event
from reconciler.errors import (
    ApplyError,
    PlanRefused,
    ReconcilerError,
    SpecError,
    SpecErrors,
    StalePlanError,
)
from reconciler.model.resource import JSON, Resource
from reconciler.model.state import State
from reconciler.plan.change import Change
from reconciler.plan.plan import Plan
from reconciler.providers.base import Provider, ProviderPlugin
from reconciler.providers.registry import plugins
from reconciler.secrets.value import Secret
from reconciler.spec.spec import Spec
from reconciler.state.open import open_store
from reconciler.state.store import StateStore

if TYPE_CHECKING:
    from reconciler.plan.drift import DriftReport


# -- loading ------------------------------------------------------------------------------


def load(spec_path: Path, store: StateStore, *, env: Mapping[str, str] | None = None) -> Spec:
    """Load the spec set with the store's fingerprint key (raises ``SpecErrors``)."""
    from reconciler.spec.load import load_spec

    return load_spec(spec_path, env=env, fingerprint_key=store.fingerprint_key)


def open_providers(
    spec: Spec, store: StateStore, registry: Mapping[str, ProviderPlugin] | None = None
) -> dict[str, Provider]:
    """A connected provider for every provider section of the spec, in registry order."""
    registry = plugins() if registry is None else registry
    opened: dict[str, Provider] = {}
    try:
        for name, plugin in registry.items():
            section = spec.sections.get(name)
            if section is not None:
                opened[name] = plugin.open(section, store)
    except BaseException:
        close_providers(opened)
        raise
    return opened


def close_providers(providers: Mapping[str, Provider]) -> None:
    """Close every provider, even if one of them fails to close."""
    for provider in providers.values():
        with contextlib.suppress(Exception):
            provider.close()


# -- refresh and plan ---------------------------------------------------------------------


def refresh(
    spec: Spec,
    providers: Mapping[str, Provider],
    store: StateStore,
    only: frozenset[Address] | None = None,
) -> State:
    """Live state of every provider (or only of the objects in ``only``).

    Write-only attributes come back from providers as ``None``; each is replaced by the
    fingerprint last applied (from the store), so an unchanged secret diffs equal. When the store
    remembers a server id and the live object has another one, the object was recreated out of
    band and its write-only values are unknown: they stay ``None`` (and show as a change).
    """
    live: list[Resource] = []
    for name, provider in providers.items():
        wanted = None if only is None else frozenset(a for a in only if a.provider == name)
        if wanted is not None and not wanted:
            continue
        state = provider.read(spec.desired.of_provider(name), only=wanted)
        live.extend(_with_fingerprints(r, store) for r in state.resources())
    return State(live)


def _with_fingerprints(resource: Resource, store: StateStore) -> Resource:
    unknown = [n for n in sorted(resource.sensitive) if resource.attributes.get(n) is None]
    if not unknown:
        return resource
    remembered_id = store.get_id(resource.address)
    if remembered_id is not None and resource.id is not None and remembered_id != resource.id:
        return resource
    attributes: dict[str, JSON] = dict(resource.attributes)
    for name in unknown:
        fingerprint = store.get_fingerprint(resource.address, name)
        if fingerprint is not None:
            attributes[name] = fingerprint
    return dataclasses.replace(resource, attributes=attributes)


def make_plan(
    spec: Spec,
    providers: Mapping[str, Provider],
    store: StateStore,
    *,
    allow_deletes: bool = False,
) -> Plan:
    """Refresh and build the plan. ``stats``: requests per provider and wall seconds."""
    from reconciler.plan.build import build_plan

    started = time.monotonic()
    live = refresh(spec, providers, store)
    policy = spec.policy
    if allow_deletes:
        policy = dataclasses.replace(
            policy, limits=dataclasses.replace(policy.limits, override=True)
        )
    plan = build_plan(
        spec.desired,
        live,
        policy,
        spec_path=str(spec.path),
        spec_digest=spec.digest,
        hooks=providers,
        stats=_stats(providers, time.monotonic() - started),
    )
    return plan


def _stats(providers: Mapping[str, Provider], seconds: float) -> dict[str, JSON]:
    per_provider: dict[str, JSON] = {name: p.stats() for name, p in providers.items()}
    requests: dict[str, JSON] = {
        name: s.get("requests", 0) if isinstance(s, Mapping) else 0
        for name, s in per_provider.items()
    }
    return {"requests": requests, "seconds": round(seconds, 3), "providers": per_provider}


# -- saved plans --------------------------------------------------------------------------


def save_plan(plan: Plan, path: Path) -> None:
    """Write the plan's JSON form (with digest) to ``path``."""
    text = json.dumps(plan.to_dict(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ReconcilerError(f"{path}: cannot write plan ({exc.strerror})") from None


def read_plan(path: Path) -> Plan:
    """Parse a saved plan; raises ``ApplyError`` on an unreadable, foreign or edited file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ApplyError(None, f"{path}: cannot read plan ({exc.strerror})") from None
    except json.JSONDecodeError as exc:
        raise ApplyError(None, f"{path}:{exc.lineno}:{exc.colno}: not JSON ({exc.msg})") from None
    if not isinstance(data, dict):
        raise ApplyError(None, f"{path}: not a plan")
    try:
        return Plan.from_dict(data)
    except ValueError as exc:
        raise ApplyError(None, f"{path}: {exc}") from None
    except (KeyError, TypeError):
        raise ApplyError(None, f"{path}: not a plan (missing or malformed fields)") from None


def verify_saved_plan(
    plan: Plan,
    spec: Spec,
    providers: Mapping[str, Provider],
    store: StateStore,
    *,
    allow_deletes: bool = False,
) -> Plan:
    """Check that a saved plan can still be applied exactly; return it with secrets attached.

    Its digest was checked when it was parsed. Raises ``ApplyError`` when it was made from a
    different spec, and ``StalePlanError`` (carrying a fresh plan as ``replan``) when a live
    object it touches changed; only those objects are read again.
    """
    if plan.spec_digest != spec.digest:
        raise ApplyError(
            None,
            f"saved plan was made from a different version of {spec.path} "
            "(the spec changed since); run plan again",
        )
    expected = {Address.parse(k): v for k, v in plan.live_fingerprints.items()}
    fresh = refresh(spec, providers, store, only=frozenset(expected))
    stale = [
        a
        for a, fingerprint in expected.items()
        if (fresh[a].fingerprint() if a in fresh else None) != fingerprint
    ]
    if stale:
        replan = make_plan(spec, providers, store, allow_deletes=allow_deletes)
        raise StalePlanError(stale, replan=replan)
    return dataclasses.replace(
        plan, changes=tuple(_attach_secrets(c, spec.desired) for c in plan.changes)
    )


def _attach_secrets(change: Change, desired: State) -> Change:
    """A saved plan holds ``(sensitive)`` masks: take write-only values from the spec again."""
    if change.desired is None or change.address not in desired:
        return change
    source = desired[change.address]
    if not source.secrets and not change.desired.sensitive:
        return change
    attributes = dict(change.desired.attributes)
    for name in change.desired.sensitive:
        if name in source.attributes:
            attributes[name] = source.attributes[name]
    resource = dataclasses.replace(change.desired, attributes=attributes, secrets=source.secrets)
    return dataclasses.replace(change, desired=resource)


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


# -- apply and drift ----------------------------------------------------------------------


def default_holder() -> str:
    """``user@host``: who holds an apply lock, as shown to a blocked run."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = f"uid{os.getuid()}"
    return f"{user}@{socket.gethostname()}"


@contextlib.contextmanager
def hold_locks(
    plan: Plan, providers: Mapping[str, Provider], store: StateStore, holder: str | None = None
) -> Iterator[None]:
    """Hold the apply lock of every target the plan changes, for the ``with`` block.

    Raises ``PlanRefused`` for a refused plan, ``ApplyError`` when the plan names a provider
    that is not open, ``LockedError`` when another apply holds a target.
    """
    if plan.refused:
        raise PlanRefused(plan.violations)
    names = sorted({c.address.provider for c in plan.executable})
    missing = [n for n in names if n not in providers]
    if missing:
        raise ApplyError(None, f"plan changes providers not in the spec: {', '.join(missing)}")
    # Sorted so two applies over overlapping targets take their locks in the same order.
    targets = sorted({providers[n].target() for n in names})
    with contextlib.ExitStack() as stack:
        for target in targets:
            stack.enter_context(store.lock(target, holder or default_holder()))
        yield


def apply(
    plan: Plan,
    providers: Mapping[str, Provider],
    store: StateStore,
    *,
    concurrency: int = 4,
    on_event: Callable[[Event], None] | None = None,
    holder: str | None = None,
) -> ApplyResult:
    """Execute a plan under the apply lock of every target it changes (see ``hold_locks``).

    A change's failure does not raise: it is in the result.
    """
    with hold_locks(plan, providers, store, holder):
        return execute(plan, providers, store, concurrency=concurrency, on_event=on_event)


def apply_saved(
    plan: Plan,
    spec: Spec,
    providers: Mapping[str, Provider],
    store: StateStore,
    *,
    concurrency: int = 4,
    on_event: Callable[[Event], None] | None = None,
    holder: str | None = None,
    allow_deletes: bool = False,
) -> ApplyResult:
    """Apply a reviewed plan: take the locks, verify it (``verify_saved_plan``) while holding
    them, so nothing can change between the check and the execution, then execute it."""
    with hold_locks(plan, providers, store, holder):
        verified = verify_saved_plan(plan, spec, providers, store, allow_deletes=allow_deletes)
        return execute(verified, providers, store, concurrency=concurrency, on_event=on_event)


def drift(
    spec: Spec, providers: Mapping[str, Provider], store: StateStore
) -> tuple[Plan, DriftReport]:
    """A drift report graded from a fresh plan (and the plan itself)."""
    from reconciler.plan import drift as drift_report

    plan = make_plan(spec, providers, store)
    now = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    return plan, drift_report.from_plan(plan, generated_at=now)


# -- session ------------------------------------------------------------------------------


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


# -- export -------------------------------------------------------------------------------


def connection_template(plugin: ProviderPlugin) -> dict[str, str]:
    """The connection block an exported spec uses: ``${env:…}`` references, never values.

    A plugin may provide its own (a ``connection_template`` attribute); otherwise each required
    field of its ``connection`` model becomes ``${env:<PROVIDER>_<FIELD>}`` (``PHASE_URL``,
    ``PHASE_TOKEN``, ``MEMORY_PATH``), the names the examples use.
    """
    own = getattr(plugin, "connection_template", None)
    if isinstance(own, Mapping):
        return {str(k): str(v) for k, v in own.items()}
    field = plugin.section.model_fields.get("connection")
    model = field.annotation if field is not None else None
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        return {}
    return {
        name: "${env:" + f"{plugin.name}_{name}".upper() + "}"
        for name, info in model.model_fields.items()
        if info.is_required()
    }


def export(
    provider_name: str,
    out_path: Path,
    *,
    env: Mapping[str, str] | None = None,
    registry: Mapping[str, ProviderPlugin] | None = None,
) -> dict[str, Any]:
    """Write a spec (YAML) of the live state of one provider to ``out_path``; return its data.

    The provider is reached through the same connection block the written spec holds, resolved
    from the environment, so planning the written spec (same environment) gives no changes.
    No prune scope is written: adopting a system never deletes anything by surprise.
    """
    registry = plugins() if registry is None else registry
    plugin = registry.get(provider_name)
    if plugin is None:
        raise ReconcilerError(f"unknown provider {provider_name!r} (one of: {', '.join(registry)})")
    if plugin.export is None:
        raise ReconcilerError(f"provider {provider_name!r} cannot export its live state")
    connection = connection_template(plugin)
    document: dict[str, Any] = {"version": 1, provider_name: {"connection": connection}}
    spec = _load_connection(document, out_path, env, {provider_name: plugin})
    store = open_store(out_path, env)
    try:
        provider = plugin.open(spec.sections[provider_name], store)
        try:
            exported = plugin.export(provider)
        finally:
            provider.close()
    finally:
        store.close()
    body = {k: v for k, v in exported.items() if k != "connection" and v not in ({}, [], None)}
    document[provider_name] = {"connection": connection, **body}
    _write_yaml(
        document,
        out_path,
        header=f"Written by `reconciler export --provider {provider_name}` from live state.",
    )
    return document


def _load_connection(
    document: dict[str, Any],
    out_path: Path,
    env: Mapping[str, str] | None,
    registry: Mapping[str, ProviderPlugin],
) -> Spec:
    """Resolve and validate a connection-only spec through the spec loader."""
    from reconciler.spec.load import load_spec

    with tempfile.TemporaryDirectory(prefix="reconciler-export-") as tmp:
        path = Path(tmp) / out_path.name
        _write_yaml(document, path, header=None)
        try:
            return load_spec(path, env=env, registry=registry)
        except SpecError as exc:
            # Locations would point into a temporary file: keep the messages only.
            found = exc.errors if isinstance(exc, SpecErrors) else [exc]
            raise SpecErrors([SpecError(f"export: {e.message}") for e in found]) from None


def _write_yaml(document: Mapping[str, Any], path: Path, header: str | None) -> None:
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.default_flow_style = False
    yaml.indent(mapping=2, sequence=4, offset=2)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8") as fh:
            if header:
                fh.write(f"# {header}\n# Review it, then add prune scopes as needed.\n")
            yaml.dump(_plain(document), fh)
    except OSError as exc:
        raise ReconcilerError(f"{path}: cannot write ({exc.strerror})") from None


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
