"""Effective access in La Suite Messages (``plan.access``), derived purely from a state already
read.

Paths (docs/messages-api.md#domain-admins-and-feature-flags, #mailboxes): a domain admin
administers the domain and every mailbox in it (``domain admin``); a mailbox access gives its
role on that mailbox (``mailbox access sender``): ``admin`` -> admin, ``editor`` and ``sender``
-> write, ``viewer`` -> read. Principals are users by e-mail (``messages.user.<e-mail>``).
"""

from __future__ import annotations

from reconciler.model.state import State
from reconciler.plan.access import AccessView, Grant, Principal
from reconciler.providers.messages.compile import NAME

_RIGHTS = {"admin": "admin", "editor": "write", "sender": "write", "viewer": "read"}


def _user(email: str) -> str:
    return f"{NAME}.user.{email.lower()}"


def _grants(state: State) -> list[Grant]:
    """Every grant ``state`` gives (live or desired: the same derivation on both sides)."""
    mailboxes = [r.address.name for r in state.of_kind(NAME, "mailbox")]
    out: list[Grant] = []
    for admin in state.of_kind(NAME, "domain_admin"):
        domain, email = admin.address.name.split("/", 1)
        who = _user(email)
        out.append(Grant(who, f"{NAME}.domain.{domain}", "admin", "domain admin"))
        out += [
            Grant(who, f"{NAME}.mailbox.{m}", "admin", "domain admin")
            for m in mailboxes
            if m.rsplit("@", 1)[-1] == domain
        ]
    for acc in state.of_kind(NAME, "mailbox_access"):
        mailbox, email = acc.address.name.split("/", 1)
        role = str(acc.attributes.get("role") or "viewer")
        right = _RIGHTS.get(role, "read")
        out.append(
            Grant(_user(email), f"{NAME}.mailbox.{mailbox}", right, f"mailbox access {role}")
        )
    return out


def access(desired: State, live: State) -> AccessView:
    """Messages' ``AccessView``: live and intended grants on domains and mailboxes."""
    resources = dict.fromkeys(
        str(r.address)
        for state in (live, desired)
        for kind in ("domain", "mailbox")
        for r in state.of_kind(NAME, kind)
    )
    grants, intended = _grants(live), _grants(desired)
    users = sorted({g.principal for g in (*grants, *intended)})
    return AccessView(
        grants=tuple(grants),
        intended=tuple(intended),
        resources=tuple(sorted(resources)),
        principals=tuple(Principal(u, "user") for u in users),
    )
