"""ConnectProvider: the Provider protocol for one Connect program-manager organisation (see
``live``, ``rules`` and ``actions`` for each step)."""

from __future__ import annotations

from typing import ClassVar

from reconciler.address import Address
from reconciler.model.state import State
from reconciler.providers.base import Capabilities
from reconciler.providers.kit.provider import Delegating, Rules
from reconciler.state.store import StateStore

from . import rules
from .actions import Actions
from .client import ConnectClient, Organization
from .compile import KINDS, NAME
from .live import Reader
from .spec import ConnectSection


class ConnectProvider(Delegating[ConnectClient, Actions]):
    """One organisation on one Connect server. Nothing is pruned: the API cannot delete."""

    rules: ClassVar[Rules] = rules  # the module

    name = NAME
    capabilities = Capabilities(kinds=KINDS, pending_on_create=frozenset({"invite"}))

    def __init__(self, section: ConnectSection, store: StateStore) -> None:
        self.section = section
        self.store = store
        self.client = ConnectClient(section, store)
        self.org = Organization(section.organization, self.client)
        self.reader = Reader(self.client, store, self.org)
        self.actions = Actions(self.client, store, self.org)

    def target(self) -> str:
        return f"connect:{self.client.base}#{self.org.slug()}"

    def read(self, desired: State, only: frozenset[Address] | None = None) -> State:
        state = self.reader.read(desired)
        if only is None:
            return state
        return State(r for r in state.resources() if r.address in only)
