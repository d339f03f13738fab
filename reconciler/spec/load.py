"""load_spec: spec files -> validated documents -> compiled desired State and Policy.

Stages, each collecting every error it can before stopping:

1. load (``loader``): YAML syntax, duplicate keys in a file and across files;
2. resolve (``secrets.resolve``) and validate (``documents``): missing variables, unreadable
   files, bad ``!encrypted`` values, and every schema error, reported together;
3. compile (each plugin's ``compile``): dangling references and other cross-object errors of
   every provider, plus addresses declared twice.

The first stage with errors raises ``SpecErrors`` (one line per error, sorted by location).
"""

from __future__ import annotations

import copy
import dataclasses
import gc
import hashlib
import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from reconciler.address import Address
from reconciler.errors import Location, SpecError, SpecErrors
from reconciler.model.resource import JSON, Resource
from reconciler.model.state import State
from reconciler.plan.policy import Policy, SafetyLimits
from reconciler.providers.base import CompileContext, ProviderPlugin
from reconciler.providers.registry import plugins
from reconciler.secrets.redact import redact
from reconciler.secrets.resolve import resolve_values
from reconciler.secrets.value import Secret
from reconciler.spec.documents import Safety, build_root_model, root_model, validate
from reconciler.spec.loader import Loaded, NodePath, SourceFile, load, read_files
from reconciler.spec.spec import Spec


def load_spec(
    path: Path,
    *,
    env: Mapping[str, str] | None = None,
    fingerprint_key: bytes | None = None,
    registry: Mapping[str, ProviderPlugin] | None = None,
    strict_env: bool = True,
) -> Spec:
    """Load, validate and compile the spec set at ``path`` (a file or a directory).

    ``env`` is where ``${env:…}`` and ``RECONCILER_SECRET_KEY`` are looked up (default
    ``os.environ``). With ``fingerprint_key``, every desired sensitive attribute that has a
    secret holds ``secret.fingerprint(key)``; without it, it stays ``None``. ``registry``
    replaces the registered plugins (tests). Raises ``SpecErrors``.

    Without ``strict_env`` (``validate``: no credentials needed) unset variables are the
    ``notes`` of the result instead of errors (``secrets.resolve``). Such a spec is for
    checking only: its unresolved values are empty. When a value that cannot be left empty
    depends on an unset variable, the optional ones are dropped and validation is tried again;
    if it still cannot succeed, compile (cross-references) is skipped and a note says so.
    """
    with paused_gc():
        return _load_spec(path, env, fingerprint_key, registry, strict_env)


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for the block (nests; restores the state).

    Loading, planning and rendering a large spec allocate hundreds of thousands of objects
    that form no cycles (reference counting frees them); every automatic collection would walk
    them all again. Measured at 10,000 objects: 60% of ``validate``'s time, 60% of ``plan``'s
    (benchmarks/large_spec.py). Only short, bounded steps run paused, never an apply.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _load_spec(
    path: Path,
    env: Mapping[str, str] | None,
    fingerprint_key: bytes | None,
    registry: Mapping[str, ProviderPlugin] | None,
    strict_env: bool,
) -> Spec:
    environ = os.environ if env is None else env
    if registry is None:
        registry, model = plugins(), root_model()
    else:
        model = build_root_model(registry)

    loaded = load(path)
    resolution = resolve_values(
        loaded.data,
        locate=loaded.locate_value,
        env=environ,
        paths=loaded.references,
        strict_env=strict_env,
    )
    notes = tuple(resolution.notes)
    made: list[Secret] = []
    document, errors = validate(
        resolution.data,
        loaded.locate,
        model=model,
        skip=resolution.failed,
        secrets=resolution.secrets,
        made=made,
    )
    if document is None and not errors and notes:
        made.clear()
        document, errors = validate(
            _without(resolution.data, resolution.failed),
            loaded.locate,
            model=model,
            skip=resolution.failed,
            secrets=resolution.secrets,
            made=made,
        )
    errors = [*resolution.errors, *errors]
    if errors:
        raise SpecErrors(errors)
    if document is None:
        if not notes:
            raise SpecErrors(errors)
        unchecked = SpecError(
            "references between objects not checked: a required value depends on an unset "
            "variable (set it, or run with --strict-env to see which)",
            loaded.locate(()),
        )
        return Spec(
            path=path,
            digest=spec_digest(loaded.files),
            sections={},
            desired=State([]),
            policy=Policy(prune=frozenset(), protect=frozenset(), limits=SafetyLimits()),
            notes=(*notes, unchecked),
        )

    sections: dict[str, BaseModel] = {}
    resources: list[Resource] = []
    prune: set[tuple[str, str]] = set()
    protect: set[Address] = set()
    context = CompileContext(loaded.locate)
    for name, plugin in registry.items():
        section = getattr(document, name, None)
        if section is None:
            continue
        sections[name] = section
        try:
            compiled = plugin.compile(section, context)
        except SpecError as exc:
            errors.extend(_flatten(exc, resolution.secrets))
            continue
        resources.extend(compiled.resources)
        prune.update((name, kind) for kind in compiled.prune)
        protect.update(compiled.protect)
    errors.extend(_duplicates(resources, loaded))
    if errors:
        raise SpecErrors(errors)

    for resource in resources:  # a provider may make secrets of its own while compiling
        made.extend(resource.secrets.values())
    if fingerprint_key is not None:
        resources = [_fingerprinted(r, fingerprint_key) for r in resources]
    safety = getattr(document, "safety", None) or Safety()
    policy = Policy(
        prune=frozenset(prune),
        protect=frozenset(protect),
        limits=SafetyLimits(
            max_deletes=safety.max_deletes, max_delete_share=safety.max_delete_share
        ),
    )
    return Spec(
        path=path,
        digest=spec_digest(loaded.files),
        sections=sections,
        desired=State(resources),
        policy=policy,
        notes=notes,
        secrets=tuple({id(s): s for s in made}.values()),
    )


def _without(data: dict[str, Any], paths: set[NodePath]) -> dict[str, Any]:
    """A copy of ``data`` without the values at ``paths`` (unresolved optional values)."""
    out = copy.deepcopy(data)
    for path in sorted(paths, key=len, reverse=True):
        parent: Any = out
        for part in path[:-1]:
            parent = parent[part]
        del parent[path[-1]]
    return out


def spec_digest_of(path: Path) -> str:
    """The digest of the spec set at ``path`` from its files' bytes alone (no parsing)."""
    return spec_digest(read_files(path))


def spec_digest(files: Iterable[SourceFile]) -> str:
    """sha256 over each file's name (relative to the spec set) and bytes, in name order.

    Lengths are framed so that no two different spec sets hash the same input stream."""
    digest = hashlib.sha256()
    for source in sorted(files, key=lambda f: f.name):
        name = source.name.encode("utf-8")
        digest.update(len(name).to_bytes(8, "big") + name)
        digest.update(len(source.content).to_bytes(8, "big") + source.content)
    return digest.hexdigest()


def _flatten(exc: SpecError, secrets: list[Secret]) -> list[SpecError]:
    found = exc.errors if isinstance(exc, SpecErrors) else [exc]
    # A provider message could quote a resolved value by mistake; mask it before it is shown.
    return [SpecError(redact(e.message, secrets), e.location) for e in found]


def _duplicates(resources: list[Resource], loaded: Loaded) -> list[SpecError]:
    """Two spec entries that compile to the same address (e.g. the same e-mail in two cases)."""
    first: dict[Address, Location | None] = {}
    errors: list[SpecError] = []
    for r in resources:
        if r.address in first:
            where = first[r.address]
            also = f" (first at {where})" if where else ""
            errors.append(SpecError(f"'{r.address}' is declared twice{also}", r.location))
        else:
            first[r.address] = r.location
    return errors


def _fingerprinted(resource: Resource, key: bytes) -> Resource:
    names = [n for n in resource.sensitive if n in resource.secrets]
    if not names:
        return resource
    attributes: dict[str, JSON] = dict(resource.attributes)
    for name in names:
        attributes[name] = resource.secrets[name].fingerprint(key)
    return dataclasses.replace(resource, attributes=attributes)
