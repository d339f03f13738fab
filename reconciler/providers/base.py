"""The Provider protocol, Capabilities and the plugin record that wires a provider into the tool.

A provider turns its spec section into desired Resources (``ProviderPlugin.compile``, pure), reads
the live state of its target (``Provider.read``, HTTP), adds its own ordering edges and warnings
(``refine``) and safety rules (``check``) to a plan, and executes one change at a time
(``apply``). A provider imports ``model/``, ``errors.py``, ``plan/`` shapes, this module and its
own folder, never another provider.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import BaseModel

from reconciler.address import Address
from reconciler.errors import Location
from reconciler.model.resource import JSON, Resource
from reconciler.model.state import State
from reconciler.plan.access import AccessFn
from reconciler.plan.change import Change
from reconciler.plan.plan import Violation
from reconciler.state.store import StateStore


@dataclass(frozen=True)
class Capabilities:
    """Static facts about a provider.

    ``kinds``: the kinds it manages, parents first (used to group output).
    ``collections``: spec collection name -> kind, for ``prune:`` and ``protect:``
    (e.g. ``{"apps": "app"}``).
    ``pending_on_create``: kinds whose creation leaves the object pending (an invite), so the
    changes that depend on it are deferred in the same plan.
    """

    kinds: tuple[str, ...]
    collections: Mapping[str, str] = field(default_factory=dict)
    pending_on_create: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Outcome:
    """What applying one change produced: a server id to remember, or that the object is now
    pending (e.g. an invite was sent). ``message`` is a short non-secret note for the report."""

    server_id: str | None = None
    pending: str | None = None
    message: str | None = None


class Provider(Protocol):
    """A connected provider for one target (one organisation of one system)."""

    name: str
    capabilities: Capabilities

    def target(self) -> str:
        """Stable identity of the managed organisation, e.g. ``phase:https://host#<org id>``.
        Used as the apply-lock scope and shown in output. May read the API once."""
        ...

    def read(self, desired: State, only: frozenset[Address] | None = None) -> State:
        """Live state of everything this provider manages in its target.

        ``desired`` tells which objects the spec names (for id pins and name matching);
        ``only``, when given, limits the read to the collections holding those addresses
        (used to re-check a saved plan). Write-only attributes are ``None`` here; the engine
        overlays fingerprints from the state store. What the read learns besides objects (who
        the token is, ...) goes, as JSON, in the answer's ``context[name]`` (``State.context``),
        where ``refine`` and ``check`` find it.
        """
        ...

    def refine(self, changes: Sequence[Change], desired: State, live: State) -> list[Change]:
        """Return the changes with provider-specific ordering edges, warnings and details
        added (e.g. promotion order). Must be pure and deterministic: everything it needs is
        in its arguments (``live.context[name]`` for what ``read`` learnt)."""
        ...

    def check(self, changes: Sequence[Change], desired: State, live: State) -> list[Violation]:
        """Provider safety rules (owner protection, self-lockout, E2EE hazards). Pure."""
        ...

    def apply(self, change: Change) -> Outcome:
        """Execute one change; raise ``ProviderError`` (``address: message``) on failure.
        Must be safe to retry: a create first looks the object up by natural key."""
        ...

    def stats(self) -> dict[str, JSON]:
        """Counters since the provider was opened (at least ``requests``)."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class CompileContext:
    """What ``compile`` gets besides its section: where each spec node is.

    ``locate(path)`` returns the location of the node at ``path`` (a tuple of keys/indices
    from the document root, e.g. ``("phase", "apps", "payments")``), or of its nearest
    ancestor.
    """

    locate: Callable[[tuple[str | int, ...]], Location | None]


@dataclass(frozen=True)
class Compiled:
    """The desired resources of one provider, plus its prune scopes (kinds) and protected
    addresses."""

    resources: Sequence[Resource]
    prune: frozenset[str] = frozenset()
    protect: frozenset[Address] = frozenset()


@dataclass(frozen=True)
class ProviderPlugin:
    """Registration record of a provider (see ``providers/registry.py``).

    ``section``: pydantic model of the provider's spec section (``extra="forbid"``).
    ``compile``: section -> Compiled; pure, raises ``SpecError``/``SpecErrors`` with locations
    for dangling references.
    ``open``: section + state store -> connected Provider (no network until used).
    ``export``: connected Provider -> spec section as plain data (for ``reconciler export``).
    ``access``: the provider's effective-access derivation (``reconciler access``), if any.
    """

    name: str
    section: type[BaseModel]
    compile: Callable[[Any, CompileContext], Compiled]
    open: Callable[[Any, StateStore], Provider]
    export: Callable[[Provider], dict[str, Any]] | None = None
    access: AccessFn | None = None
    """``(desired, live) -> AccessView``: who can read what (``plan.access``); pure."""
