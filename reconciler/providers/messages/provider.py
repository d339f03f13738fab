"""MessagesProvider: the Provider protocol for one Messages server (see ``live``, ``rules``,
``actions`` for each step)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from urllib.parse import urlsplit

from reconciler.address import Address
from reconciler.model.resource import JSON
from reconciler.model.state import State
from reconciler.plan.change import Change
from reconciler.plan.plan import Violation
from reconciler.providers.base import Capabilities, Outcome
from reconciler.providers.messages import live as live_read
from reconciler.providers.messages import rules
from reconciler.providers.messages.actions import Actions
from reconciler.providers.messages.client import MessagesClient
from reconciler.providers.messages.compile import COLLECTIONS, KINDS, NAME
from reconciler.providers.messages.spec import MessagesSection
from reconciler.state.store import StateStore


class MessagesProvider:
    """One Messages server, reached with a global api_key channel (and an admin token)."""

    name = NAME
    capabilities = Capabilities(kinds=KINDS, collections=COLLECTIONS)

    def __init__(self, section: MessagesSection, store: StateStore) -> None:
        conn = section.connection
        self.section = section
        self.store = store
        self.client = MessagesClient(
            conn.url,
            conn.channel_id,
            conn.api_key,
            conn.admin_token,
            rate_limit=conn.rate_limit,
            store=store,
        )
        self.lock = threading.Lock()
        self.actions = Actions(self.client, {}, {})

    def target(self) -> str:
        parts = urlsplit(self.client.url)
        return f"messages:{parts.scheme}://{parts.netloc}{parts.path}"

    def read(self, desired: State, only: frozenset[Address] | None = None) -> State:
        state, seen = live_read.read(self.client, self.store, desired, self.section.entitlements)
        with self.lock:
            self.actions.uuids.update(seen.uuids)
            self.actions.mailboxes.update(seen.mailboxes)
        if only is None:
            return state
        kinds = {a.kind for a in only}
        return State((r for r in state.resources() if r.address.kind in kinds), state.context)

    def refine(self, changes: Sequence[Change], desired: State, live: State) -> list[Change]:
        return rules.refine(changes, desired, live)

    def check(self, changes: Sequence[Change], desired: State, live: State) -> list[Violation]:
        return rules.check(changes, desired, live)

    def apply(self, change: Change) -> Outcome:
        return self.actions.apply(change)

    def stats(self) -> dict[str, JSON]:
        return dict(self.client.stats())

    def close(self) -> None:
        self.client.close()
