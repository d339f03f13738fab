"""Saved plans: writing and reading the JSON form, and proving one can still be applied exactly.

A saved plan carries its digest (checked when it is parsed), the digest of the spec it was made
from and a fingerprint of every live object it touches. ``verify_saved_plan`` re-reads only
those objects; a changed one makes the plan stale, and the error carries a fresh plan.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from pathlib import Path

from reconciler.address import Address
from reconciler.engine.reading import make_plan, refresh
from reconciler.errors import ApplyError, ReconcilerError, StalePlanError
from reconciler.model.state import State
from reconciler.plan.change import Change
from reconciler.plan.plan import Plan
from reconciler.plan.render import render_json
from reconciler.providers.base import Provider
from reconciler.spec.spec import Spec
from reconciler.state.store import StateStore


def save_plan(plan: Plan, path: Path) -> None:
    """Write the plan's JSON form (``render_json``: digest, per-provider counts) to ``path``."""
    text = render_json(plan)
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
