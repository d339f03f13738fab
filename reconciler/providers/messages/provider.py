"""MessagesProvider: the Provider protocol for one Messages server (see ``live``, ``rules``,
``actions`` for each step)."""

from __future__ import annotations

import threading
from typing import ClassVar
from urllib.parse import urlsplit

from reconciler.address import Address
from reconciler.model.state import State
from reconciler.providers.base import Capabilities
from reconciler.providers.kit.provider import Delegating, Rules, of_kinds
from reconciler.providers.messages import live as live_read
from reconciler.providers.messages import rules
from reconciler.providers.messages.actions import Actions
from reconciler.providers.messages.client import MessagesClient
from reconciler.providers.messages.compile import COLLECTIONS, KINDS, NAME
from reconciler.providers.messages.spec import MessagesSection
from reconciler.state.store import StateStore


class MessagesProvider(Delegating[MessagesClient, Actions]):
    """One Messages server, reached with a global api_key channel (and an admin token)."""

    rules: ClassVar[Rules] = rules  # the module

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
        return of_kinds(state, only)
