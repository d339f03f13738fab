"""Work: what applying changes to one organisation shares between the per-kind handlers.

It holds the server ids of the last read (``live.Index``; each handler adds the ids of what it
creates, so later changes of the same apply find them), the applier's keys (recovered on first
use), identity keys as the server has them at apply time, and initial tokens minted with a
service account that its token change stores. Thread-safe: the executor may run independent
changes at once, so every read or write of the index holds ``lock``.

Every answer a handler uses is decoded through ``payloads`` models (``PhaseClient.decoded``): a
malformed answer is ``<address>: unexpected answer from Phase (field 'id' missing)``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from reconciler.address import Address
from reconciler.crypto.tokens import PhaseToken
from reconciler.errors import ProviderError
from reconciler.model.resource import JSON
from reconciler.plan.change import Action, Change
from reconciler.providers.base import Outcome
from reconciler.providers.phase import payloads as p
from reconciler.providers.phase.client import PhaseClient
from reconciler.providers.phase.compile import NAME
from reconciler.providers.phase.console import Console, Identities
from reconciler.providers.phase.e2ee import KeyHolder, held_keys
from reconciler.providers.phase.live import Index
from reconciler.secrets.value import Secret
from reconciler.state.store import StateStore


class Work:
    """The apply-time context of one provider (see the module docstring)."""

    def __init__(
        self,
        client: PhaseClient,
        token: PhaseToken,
        store: StateStore | None,
        console: Console | None,
    ) -> None:
        self.client = client
        self.token = token
        self.store = store
        self.console = console
        self.index = Index()
        self.lock = threading.RLock()
        self.holder: KeyHolder | None = None
        self.identities_now: Identities | None = None  # read again at apply time
        self.minted: dict[str, Secret] = {}  # "sa/token" -> initial token, not stored yet

    @property
    def e2ee(self) -> bool:
        """E2EE grants are managed: a console session, and a user's token (whose keys can be
        recovered to re-wrap environment keys)."""
        return self.console is not None and self.token.kind == "user"

    def reset(self, index: Index) -> None:
        """Start from a new read: its ids, keys recovered and identities read again."""
        with self.lock:
            self.index = index
            if self.holder is not None:
                self.holder.close()
                self.holder = None
            self.identities_now = None

    def close(self) -> None:
        with self.lock:
            if self.holder is not None:
                self.holder.close()
                self.holder = None

    # -- ids -------------------------------------------------------------------------------

    def id(self, table: str, key: str, address: object) -> str:
        """The server id of ``key`` in an index table (``apps``, ``envs``, ``roles``...)."""
        with self.lock:
            found = getattr(self.index, table).get(key)
        if found is None:
            raise ProviderError(address, f"no live {table[:-1]} {key!r} (deleted meanwhile?)")
        return str(found)

    def remember(self, table: str, key: str, value: str) -> None:
        with self.lock:
            getattr(self.index, table)[key] = value

    def role_id(self, name: str | None, address: object) -> str | None:
        return None if name is None else self.id("roles", name, address)

    def live_e2ee(self) -> set[str]:
        """The apps that are end-to-end encrypted now."""
        with self.lock:
            return {app for app, sse in self.index.app_sse.items() if not sse}

    def record(self, address: Address, key: str, value: JSON) -> None:
        """A non-secret fact kept in the state store (nothing without a store)."""
        if self.store is not None:
            self.store.set_record(address, key, value)

    # -- requests the handlers share ---------------------------------------------------------

    def find(
        self,
        path: str,
        name: str,
        address: object,
        *,
        fold: bool = False,
        params: Mapping[str, str] | None = None,
    ) -> p.Named | None:
        """The one object named ``name`` in a ``{"data": [...]}`` list, else ``None`` (none,
        or several: adopting one of them would be a guess). ``fold``: names compare without
        case, as the server does for roles and environments."""
        listing = self.client.decoded(
            p.Listing[p.Named], "GET", path, address=address, params=params
        )
        same = [
            x for x in listing.data if (x.name.lower() == name.lower() if fold else x.name == name)
        ]
        return same[0] if len(same) == 1 else None

    def delete(self, change: Change, collection: str) -> Outcome:
        """DELETE ``/v1/<collection>/<live id>/``; 404 means already gone
        (docs/phase-api.md#deletes)."""
        self.client.request(
            "DELETE",
            f"/v1/{collection}/{live_id(change)}/",
            address=change.address,
            ok_missing=True,
        )
        return Outcome()

    # -- keys --------------------------------------------------------------------------------

    def read_keys(self, address: object = NAME) -> p.KeysView:
        """The applier's key rows as the server has them now (``/secrets/tokens/``)."""
        return self.client.decoded(
            p.KeysView, "GET", "/secrets/tokens/", address=address, root=True
        )

    def refresh_held(self, keys: p.KeysView | None = None) -> None:
        """Record the applier's key rows (read again unless given) for the known environments."""
        rows = held_keys(keys if keys is not None else self.read_keys())
        with self.lock:
            for key, env_id in self.index.envs.items():
                if env_id in rows:
                    self.index.held[key] = rows[env_id]

    def keys(self) -> KeyHolder:
        """The applier's keys, recovered on first use (one per read)."""
        with self.lock:
            if self.holder is None:
                self.holder = KeyHolder.recover(
                    self.token, self.index.wrapped_key_share, self.index.held
                )
            return self.holder

    def identities(self, refresh: bool = False) -> Identities:
        """Identity keys as the server has them now (read once per apply, again on demand)."""
        assert self.console is not None
        with self.lock:
            if self.identities_now is None or refresh:
                found = self.console.identities()
                if found is None:
                    raise ProviderError(NAME, "the console did not say which organisation this is")
                self.identities_now = found
            return self.identities_now


# -- handlers ---------------------------------------------------------------------------------

Step = Callable[[Work, Change], Outcome]


@dataclass(frozen=True)
class Handler:
    """How the changes of one kind are applied: one function per action."""

    create: Step
    update: Step
    delete: Step

    def __call__(self, work: Work, change: Change) -> Outcome:
        steps: Mapping[Action, Step] = {
            Action.CREATE: self.create,
            Action.UPDATE: self.update,
            Action.DELETE: self.delete,
        }
        step = steps.get(change.action)
        if step is None:
            raise ProviderError(change.address, f"a {change.action} change is not applied")
        return step(work, change)


def live_id(change: Change) -> str:
    if change.live is None or change.live.id is None:
        raise ProviderError(change.address, "no live id to act on")
    return change.live.id


def deleting(collection: str) -> Step:
    """The delete step of a kind whose objects are deleted by id under ``collection``."""
    return lambda work, change: work.delete(change, collection)
