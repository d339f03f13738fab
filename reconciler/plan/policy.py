"""Policy: what the spec allows a plan to do (prune scopes, protected objects, delete limits)."""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.address import Address


@dataclass(frozen=True)
class SafetyLimits:
    """Delete limits checked when a plan is built.

    ``max_deletes``: most deletes one plan may hold. ``max_delete_share``: most deletes as a share
    of live managed objects (0..1). ``override``: the user passed ``--allow-deletes`` and accepts
    plans beyond the limits (protect lists and provider rules still apply).
    """

    max_deletes: int = 10
    max_delete_share: float = 0.5
    override: bool = False


@dataclass(frozen=True)
class Policy:
    """Prune scopes as (provider, kind) pairs, protected addresses, and safety limits.

    A live object absent from the desired state is deleted only when its (provider, kind) is in
    ``prune`` and its address is not in ``protect``; otherwise it is reported as unmanaged.
    A protected object is never updated or deleted.
    """

    prune: frozenset[tuple[str, str]] = frozenset()
    protect: frozenset[Address] = frozenset()
    limits: SafetyLimits = SafetyLimits()
