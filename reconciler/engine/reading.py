"""Loading a spec set, opening its providers, reading live state and making a plan.

``refresh`` asks every provider for its live state (or only for the objects a saved plan
touches) and overlays the write-only fingerprints the state store remembers; ``make_plan`` adds
the diff, the provider rules and the per-provider statistics that ``plan --stats`` shows.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Mapping, MutableMapping
from pathlib import Path

from reconciler.address import Address
from reconciler.model.resource import JSON, Resource
from reconciler.model.state import State
from reconciler.plan.plan import Plan
from reconciler.providers.base import Provider, ProviderPlugin
from reconciler.providers.kit.insecure import insecure_http_allowed
from reconciler.providers.registry import plugins
from reconciler.spec.spec import Spec
from reconciler.state.store import StateStore, recreated


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
                with insecure_http_allowed(section):  # the section's allow_insecure_http
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


def refresh(
    spec: Spec,
    providers: Mapping[str, Provider],
    store: StateStore,
    only: frozenset[Address] | None = None,
    *,
    timings: MutableMapping[str, float] | None = None,
) -> State:
    """Live state of every provider (or only of the objects in ``only``).

    Write-only attributes come back from providers as ``None``; each is replaced by the
    fingerprint last applied (from the store), so an unchanged secret diffs equal. When the store
    remembers a server id and the live object has another one, the object was recreated out of
    band and its write-only values are unknown: they stay ``None`` (and show as a change).
    ``timings``, when given, receives the seconds each provider's read took.
    """
    live: list[Resource] = []
    context: dict[str, JSON] = {}  # what each provider learnt while reading (State.context)
    for name, provider in providers.items():
        wanted = None if only is None else frozenset(a for a in only if a.provider == name)
        if wanted is not None and not wanted:
            continue
        started = time.monotonic()
        state = provider.read(spec.desired.of_provider(name), only=wanted)
        if timings is not None:
            timings[name] = time.monotonic() - started
        live.extend(_with_fingerprints(r, store) for r in state.resources())
        context.update(state.context)
    return State(live, context)


def _with_fingerprints(resource: Resource, store: StateStore) -> Resource:
    unknown = [n for n in sorted(resource.sensitive) if resource.attributes.get(n) is None]
    if not unknown:
        return resource
    if recreated(resource, store):
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
    """Refresh and build the plan; its ``stats`` are described by ``plan_stats``."""
    from reconciler.plan.build import build_plan

    started = time.monotonic()
    timings: dict[str, float] = {}
    live = refresh(spec, providers, store, timings=timings)
    policy = spec.policy
    if allow_deletes:
        policy = dataclasses.replace(
            policy, limits=dataclasses.replace(policy.limits, override=True)
        )
    return build_plan(
        spec.desired,
        live,
        policy,
        spec_path=str(spec.path),
        spec_digest=spec.digest,
        hooks=providers,
        stats=plan_stats(providers, timings, time.monotonic() - started),
    )


def plan_stats(
    providers: Mapping[str, Provider], timings: Mapping[str, float], seconds: float
) -> dict[str, JSON]:
    """What ``plan --stats`` shows, grouped per provider::

        {"requests": {provider: n}, "seconds": wall seconds of the whole plan,
         "providers": {provider: {**Provider.stats(), "read_seconds": s}}}

    ``requests`` repeats each provider's count for the short form (and the plan schema).
    """
    per_provider: dict[str, JSON] = {}
    requests: dict[str, JSON] = {}
    for name, provider in providers.items():
        own: dict[str, JSON] = dict(provider.stats())
        if name in timings:
            own["read_seconds"] = round(timings[name], 3)
        per_provider[name] = own
        count = own.get("requests", 0)
        requests[name] = count if isinstance(count, int) else 0
    return {"requests": requests, "seconds": round(seconds, 3), "providers": per_provider}
