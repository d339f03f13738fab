"""PhaseProvider: plans and applies changes to one Phase organisation; a thin class that ties
the jobs together (docs/phase-api.md#reconciler-rules).

* ``read``: ``live.read_live`` (with ``only``: the collections holding the touched addresses);
  the answer carries the planning facts (``rules.Facts``) in its context.
* ``refine`` / ``check``: ``rules.refine`` / ``rules.check``, pure functions of
  ``(changes, desired, live)``.
* ``apply``: ``actions.apply``, one handler per kind, sharing ``actions.Work`` (ids of the last
  read, the applier's keys, the console session).
* HTTP: ``client.PhaseClient`` (the kit's client; its pacing budget is kept in the state store so
  consecutive runs share it); the console's GraphQL: ``console.Console``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from reconciler.address import Address
from reconciler.crypto.tokens import PhaseToken, parse_token
from reconciler.errors import ProviderError
from reconciler.model.resource import JSON
from reconciler.model.state import State
from reconciler.plan.change import Change
from reconciler.plan.plan import Violation
from reconciler.providers.base import Capabilities, Outcome
from reconciler.providers.phase import actions, rules
from reconciler.providers.phase.access import record_revocations
from reconciler.providers.phase.client import PhaseClient, pacing_budget
from reconciler.providers.phase.compile import COLLECTIONS, KINDS, NAME
from reconciler.providers.phase.console import Console
from reconciler.providers.phase.live import Index, Scope, live_facts, read_live
from reconciler.providers.phase.rules import Facts
from reconciler.secrets.value import Secret
from reconciler.state.store import StateStore


class PhaseProvider:
    """The Provider protocol for one Phase organisation."""

    name = NAME
    capabilities = Capabilities(
        kinds=KINDS, collections=COLLECTIONS, pending_on_create=frozenset({"member"})
    )

    def __init__(
        self,
        url: str,
        token: Secret,
        rate_limit: int = 240,
        store: StateStore | None = None,
        console: tuple[str, Secret] | None = None,
        **client: Any,
    ) -> None:
        self.url = url.rstrip("/")
        self.token: PhaseToken = parse_token(token.reveal())
        budget = pacing_budget(store, self.url, self.token, rate_limit)
        self.client = PhaseClient(self.url, self.token, rate_limit, budget=budget, **client)
        self.store = store
        # the console session (email, password): identity keys and E2EE operations
        self.console = (
            Console(self.client, console[0], console[1], self.organisation) if console else None
        )
        self.work = actions.Work(self.client, self.token, store, self.console)
        self.lock = self.work.lock
        self._read_once = False
        self._org: str | None = None

    @property
    def index(self) -> Index:
        """Server ids and facts of the last read (with the ids apply has added since)."""
        return self.work.index

    # -- protocol: identity, read, stats ----------------------------------------------------

    def organisation(self) -> str | None:
        """The organisation's id (from ``/secrets/tokens/``; one request, then cached)."""
        if self._org is None:
            try:
                keys = self.work.read_keys()
            except ProviderError:
                return None
            self._org = keys.organisation.id if keys.organisation else None
        return self._org

    def target(self) -> str:
        """``phase:<url>#<organisation id>`` (the token's public key when the server does not
        say which organisation it is)."""
        return f"phase:{self.url}#{self.organisation() or 'token-' + self.token.kx_public[:16]}"

    @property
    def e2ee(self) -> bool:
        """E2EE grants are managed: a console session, and a user's token (whose keys can be
        recovered to re-wrap environment keys)."""
        return self.work.e2ee

    def read(self, desired: State, only: frozenset[Address] | None = None) -> State:
        """The organisation (``live.py``), or with ``only`` the collections holding those
        addresses and what they and their apply need (``live_scope.py``). The answer carries
        the planning facts in its context (``rules.Facts``)."""
        scope = Scope(only)
        identities = None
        if self.console is not None and scope.identities():
            identities = self.console.identities()
        state, index = read_live(self.client, desired, self.store, identities, self.e2ee, only)
        with self.lock:
            self.work.reset(index)
            self._read_once = True
            self._org = self._org or index.organisation
        return state.with_context(NAME, live_facts(index, self.token.kind, self.e2ee).to_json())

    def stats(self) -> dict[str, JSON]:
        """Requests, retries and 429s waited out, with requests by route (``kit.http``)."""
        return self.client.stats()

    def close(self) -> None:
        """Wipe the applier's recovered keys; hand the pacing budget to the next run."""
        self.work.close()
        self.client.close()

    # -- protocol: planning hooks (pure, in rules/) -----------------------------------------

    def refine(self, changes: Sequence[Change], desired: State, live: State) -> list[Change]:
        return rules.refine(changes, desired, self.planning_view(live))

    def check(self, changes: Sequence[Change], desired: State, live: State) -> list[Violation]:
        return rules.check(changes, desired, self.planning_view(live))

    def facts(self) -> Facts:
        """The planning facts (``rules.Facts``) of this provider's last read."""
        with self.lock:
            return live_facts(self.index, self.token.kind, self.e2ee)

    def planning_view(self, live: State) -> State:
        """``live`` as the rules read it: a state this provider read carries its facts; one
        built elsewhere (by hand, e.g. in tests) gets those of this provider's last read."""
        return live if NAME in live.context else live.with_context(NAME, self.facts().to_json())

    # -- protocol: apply (actions/) -----------------------------------------------------------

    def apply(self, change: Change) -> Outcome:
        """Apply one change with its kind's handler (``actions.HANDLERS``)."""
        if not self._read_once:
            self.read(State())
        outcome = actions.apply(self.work, change)
        record_revocations(change, self.work)  # key custody: who lost an E2EE key, and when
        return outcome
