"""read: the live organisation as Resources, with the fewest requests the API allows.

Requests (docs/phase-api.md#endpoints), every list endpoint once:

* ``GET /secrets/tokens/``: who the caller is, and every environment it holds a key for, all
  apps in one answer (instead of one ``/v1/environments/?app_id=`` per app; used as a fallback
  when the server does not answer it);
* ``/v1/roles/`` (+ one detail per custom role: the list has no permissions), ``/v1/apps/``,
  ``/v1/service-accounts/`` (+ one detail per account: its access and tokens), ``/v1/members/``
  (+ one access view per member, Owner and Admin members too: they are never given access
  updates, but their views say which apps, E2EE ones above all, a demotion would revoke and who
  holds E2EE keys), ``/v1/members/invites/``, ``/v1/teams/`` (+ one detail per team: members and
  access).

Detail requests run in a small thread pool (``kit.pool``); the client's token bucket paces them
all. ``read(only=...)`` (a saved plan's verification) reads only the collections holding the
touched objects and what they need (``live_scope.py``).

Modules: ``live_base`` (the id index, shared helpers), ``live_org`` (keys, roles, apps,
environments), ``live_principals`` (service accounts, tokens, members, invites), ``live_teams``.

Naming, the way the server names things: member e-mails lower-cased, role and environment names
case-insensitive. A desired object pinned with ``id:`` is found by id; an app or environment
declared with ``previous_name`` is found under its old name (the diff then shows the rename).
Two live apps, service accounts or teams sharing a declared name are an error asking for an
``id:`` pin; undeclared duplicates get the address ``<name>#<first 8 characters of the id>``.

Access views mix individual and team keys (docs/phase-api.md#team-and-individual-access), so a
member's or service account's ``access`` attribute leaves out what its teams grant
(``normalise.without``), as the desired side does. Grants on end-to-end encrypted apps are managed
only with a console session (``e2ee``: the keys are re-wrapped on this machine); without one they
are kept apart in ``e2ee_access`` (never diffed, but part of the object's fingerprint, so a saved
plan goes stale when one appears). Apps the token cannot see are always there, as ``?<id>``. With a
console session each member and service account also carries ``identity_key``, the fingerprint of
its public identity key: a saved plan that wraps keys for it goes stale when that key changes.
"""

from __future__ import annotations

from reconciler.address import Address
from reconciler.crypto.keyring import key_fingerprint
from reconciler.model.state import State
from reconciler.providers.phase import normalise as n
from reconciler.providers.phase.client import PhaseClient
from reconciler.providers.phase.console import Identities
from reconciler.providers.phase.live_base import Index
from reconciler.providers.phase.live_org import OrgReads
from reconciler.providers.phase.live_principals import PrincipalReads
from reconciler.providers.phase.live_scope import Scope
from reconciler.providers.phase.live_teams import TeamReads
from reconciler.providers.phase.rules.facts import Facts
from reconciler.state.store import StateStore

__all__ = ["Index", "Reader", "Scope", "live_facts", "read_live"]


class Reader(OrgReads, PrincipalReads, TeamReads):
    """One read of the organisation (see the module docstring)."""

    def read(self) -> tuple[State, Index]:
        scope = self.scope
        keys = self.keys()
        if scope.reads("roles"):
            self.roles()
        if scope.reads("apps"):
            self.apps()
            self.environments(keys)
            if not scope.reads("roles") and scope.roles_for(self.idx.app_sse):
                self.roles()
        sas = self.service_accounts() if scope.reads("service_accounts") else []
        members = self.members() if scope.reads("members") else []
        teams = self.teams() if scope.reads("teams") else []
        coverage = self.team_resources(teams)
        self.sa_resources(sas, teams, coverage)
        self.member_resources(members, coverage)
        if scope.reads("invites"):
            self.invites()
        return State(r for r in self.out if scope.keeps(r.address)), self.idx


def live_facts(index: Index, token_kind: str, e2ee: bool) -> Facts:
    """The planning facts of a read (``rules.Facts``): ``token_kind`` is the token's kind,
    ``e2ee`` whether E2EE grants are managed."""
    ids = index.identities or Identities()
    key = ids.of("user", index.caller_id) if index.identities is not None else None
    emails = {v: k for k, v in index.members.items()}
    holders = sorted(
        emails.get(mid, mid)
        for mid, role in ids.roles.items()
        if n.is_global(role, index.global_roles) and ids.members.get(mid)
    )
    return Facts(
        token_kind=token_kind,
        e2ee=e2ee,
        caller_id=index.caller_id,
        caller_email=index.caller_email,
        caller_sa=index.caller_sa,
        caller_key=key_fingerprint(key) if key else None,
        global_roles=frozenset(index.global_roles),
        minting_roles=frozenset(index.minting_roles),
        envs=tuple(index.envs),
        held=frozenset(index.held),
        key_holders=tuple(holders),
    )


def read_live(
    client: PhaseClient,
    desired: State,
    store: StateStore | None = None,
    identities: Identities | None = None,
    e2ee: bool = False,
    only: frozenset[Address] | None = None,
) -> tuple[State, Index]:
    """The live organisation (see the module docstring) and the id index; with ``only``, the
    touched objects among ``only`` (the index holds every id read)."""
    return Reader(client, desired, store, identities, e2ee, Scope(only)).read()
