"""FlagsmithProvider: the Provider protocol for one Flagsmith organisation (see ``live``,
``rules`` and ``actions`` for each step)."""

from __future__ import annotations

from typing import ClassVar
from urllib.parse import urlsplit

from reconciler.address import Address
from reconciler.model.state import State
from reconciler.providers.base import Capabilities
from reconciler.providers.flagsmith import live as live_read
from reconciler.providers.flagsmith import rules
from reconciler.providers.flagsmith.actions import Actions
from reconciler.providers.flagsmith.client import FlagsmithClient
from reconciler.providers.flagsmith.compile import COLLECTIONS, KINDS, NAME, PRUNED_WITH
from reconciler.providers.flagsmith.live import Ids
from reconciler.providers.flagsmith.spec import FlagsmithSection
from reconciler.providers.kit.provider import Delegating, Rules, of_kinds
from reconciler.state.store import StateStore


class FlagsmithProvider(Delegating[FlagsmithClient, Actions]):
    """One organisation of one Flagsmith server, reached with an organisation API key."""

    rules: ClassVar[Rules] = rules  # the module

    name = NAME
    capabilities = Capabilities(
        kinds=KINDS, collections=COLLECTIONS, pending_on_create=frozenset({"member"})
    )

    def __init__(self, section: FlagsmithSection, store: StateStore) -> None:
        conn = section.connection
        self.section = section
        self.store = store
        self.client = FlagsmithClient(
            conn.url, conn.api_key, rate_limit=conn.rate_limit, store=store
        )
        prune: set[str] = set()
        for name in section.prune:
            if name in COLLECTIONS:
                prune.update((COLLECTIONS[name], *PRUNED_WITH.get(name, ())))
        self.prune = frozenset(prune)
        self.ids = Ids()
        self.actions = Actions(self.client, self.ids)

    def target(self) -> str:
        parts = urlsplit(self.client.url)
        org = self.section.organisation_id or self.section.organisation or "key"
        return f"flagsmith:{parts.scheme}://{parts.netloc}{parts.path}#{org}"

    def read(self, desired: State, only: frozenset[Address] | None = None) -> State:
        # One full read either way: the per-project reads already follow what the spec
        # manages, and a saved plan's objects are spread over every collection.
        state, ids = live_read.read(self.client, self.store, self.section, desired, self.prune)
        with self.ids.lock:
            self.ids.organisation = ids.organisation
            self.ids.organisation_name = ids.organisation_name
            self.ids.users.update(ids.users)
            self.ids.groups.update(ids.groups)
            self.ids.projects.update(ids.projects)
            self.ids.environments.update(ids.environments)
            self.ids.github = ids.github
        return of_kinds(state, only)
