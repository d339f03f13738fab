"""Scope: which collections one read covers (``read(only=...)``).

A full read (``only`` is ``None``) reads everything. A partial read (a saved plan's
verification re-reads the objects it touches) reads the collections holding the touched
addresses, plus what those objects' labels, attributes and their apply need:

* every list of a kind it reads (one request each: labels depend on every live object of the
  kind, ``name#<id8>`` on a clash) and ``/secrets/tokens/`` always (who the caller is, the
  environments of every app, the keys it holds);
* details (one request per object) only of the touched objects, except custom roles (every
  one: which roles have global access, for promotions and invites) and teams when a member or
  service account is touched (every one: what teams grant is left out of a principal's
  ``access``, and only a team's detail says who is in it);
* an environment of an E2EE app needs the roles too (its new key is wrapped for every
  global-access member).

Its answer holds only the touched objects; the provider's index holds every id read, for apply.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from reconciler.address import Address
from reconciler.providers.phase import normalise as n
from reconciler.providers.phase.compile import addr

# the collections each kind's objects need read (besides /secrets/tokens/)
NEEDS: Mapping[str, frozenset[str]] = {
    "role": frozenset({"roles"}),
    "app": frozenset({"apps"}),
    "environment": frozenset({"apps"}),
    "sa_token": frozenset({"apps", "service_accounts"}),
    "service_account": frozenset({"apps", "roles", "service_accounts", "teams"}),
    "member": frozenset({"apps", "roles", "members", "invites", "teams"}),
    "team": frozenset({"apps", "roles", "service_accounts", "members", "teams"}),
}
EVERYTHING = frozenset(c for needs in NEEDS.values() for c in needs)
PRINCIPALS = frozenset({"member", "service_account"})


@dataclass(frozen=True)
class Scope:
    """What one read covers; ``only``: the touched addresses (``None``: everything)."""

    only: frozenset[Address] | None = None

    @property
    def kinds(self) -> frozenset[str]:
        if self.only is None:
            return frozenset(NEEDS)
        return frozenset(a.kind for a in self.only if a.kind in NEEDS)

    def reads(self, collection: str) -> bool:
        """Whether ``collection`` (``roles``, ``apps``, ``service_accounts``, ``members``,
        ``invites``, ``teams``) is read."""
        return any(collection in NEEDS[k] for k in self.kinds)

    def identities(self) -> bool:
        """Whether identity keys are read (members' and service accounts' ``identity_key``)."""
        return bool(self.kinds & PRINCIPALS)

    def keeps(self, address: Address) -> bool:
        """Whether the answer holds this object."""
        return self.only is None or address in self.only

    def detail(self, kind: str, label: str) -> bool:
        """Whether one object's detail is read (``role``, ``service_account``, ``member``'s
        access view, ``team``)."""
        if self.only is None or kind == "role":
            return True
        if kind == "team" and self.kinds & PRINCIPALS:
            return True
        if addr(kind, label) in self.only:
            return True
        # a touched token's account: its detail lists the tokens
        return kind == "service_account" and any(
            a.kind == "sa_token" and n.split_key(a.name)[0] == label for a in self.only
        )

    def environments_of(self, app: str) -> bool:
        """Whether an app's environment list is needed (when ``/secrets/tokens/`` cannot list
        them all at once): every app's when a principal or team is touched (their grants name
        environments by id), else the touched apps'."""
        if self.only is None or self.kinds & (PRINCIPALS | {"team", "sa_token"}):
            return True
        return any(a.kind in ("app", "environment") and _app_of(a) == app for a in self.only)

    def roles_for(self, app_sse: Mapping[str, bool]) -> bool:
        """Whether roles are needed because a touched environment is in an E2EE app."""
        if self.only is None:
            return False
        return any(a.kind == "environment" and not app_sse.get(_app_of(a), True) for a in self.only)


def _app_of(address: Address) -> str:
    return address.name if address.kind == "app" else n.split_key(address.name)[0]
