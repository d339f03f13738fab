"""Planning rules of the Messages provider (pure): warnings, notes and refusals.

``refine``:

* a domain's write-only fields get a detail line each: ``cannot be read (last applied:
  matches spec | differs from spec | unknown)``;
* granting admin to an e-mail the server does not know says a stub user will be created;
* the admin access the server gives a new personal mailbox's owner is not created twice;
* objects the reconciler must leave alone are shown as notes (deferred changes without a
  desired object, reported as unmanaged): a domain this spec set provisioned and no longer
  declares ("delete by hand: the API has no delete"), and with ``entitlements: deploycenter``
  every domain admin ("owned by DeployCenter").

``check`` refuses, before anything runs (docs/messages-api.md#domain-admins-and-feature-flags,
#entitlements): admin grants or revocations while
``FEATURE_MAILDOMAIN_MANAGE_ACCESSES`` is off on the server (``GET /config/``), and a mailbox
whose type (personal/shared) would change.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from reconciler.model.resource import JSON
from reconciler.model.state import State
from reconciler.plan.change import Action, Change
from reconciler.plan.plan import Violation
from reconciler.providers.kit.writeonly import unreadable_details
from reconciler.providers.messages.compile import NAME

NO_DELETE = "delete by hand: the API has no delete for mail domains"
DEPLOYCENTER = (
    "owned by DeployCenter: domain admins follow its entitlements at each login "
    "(entitlements: deploycenter); not managed here"
)


def _context(live: State) -> Mapping[str, JSON]:
    value = live.context.get(NAME)
    return value if isinstance(value, Mapping) else {}


def refine(changes: Sequence[Change], desired: State, live: State) -> list[Change]:
    ctx = _context(live)
    users = set(ctx.get("users") or [])  # type: ignore[arg-type]
    creating = {c.address.name for c in changes if c.action is Action.CREATE}
    out: list[Change] = []
    for change in changes:
        kind = change.address.kind
        if kind == "mailbox_access" and _owner_grant(change, creating):
            continue
        warnings = list(change.warnings)
        details = dict(change.details)
        if kind == "domain":
            details |= unreadable_details(change)
        if kind == "domain_admin" and change.action is Action.CREATE:
            who = change.address.name.split("/", 1)[1]
            if who not in users:
                warnings.append(
                    f"{who} is not a user of the server yet (as far as this plan read): the "
                    "server creates a stub user, claimed at their first login"
                )
        out.append(dataclasses.replace(change, warnings=tuple(warnings), details=details))
    out += _notes(changes, desired, live)
    return out


def _owner_grant(change: Change, creating: set[str]) -> bool:
    """The owner's admin access of a personal mailbox created in the same plan: the server
    makes it with the mailbox."""
    if change.action is not Action.CREATE or change.desired is None:
        return False
    mailbox, who = change.address.name.split("/", 1)
    return (
        mailbox in creating
        and who == mailbox.lower()
        and change.desired.attributes["role"] == "admin"
    )


def _notes(changes: Sequence[Change], desired: State, live: State) -> list[Change]:
    ctx = _context(live)
    planned = {c.address for c in changes}
    applied = set(ctx.get("applied_domains") or [])  # type: ignore[arg-type]
    out: list[Change] = []
    for address, resource in live.items():
        if address in desired or address in planned:
            continue
        reason = None
        if address.kind == "domain" and address.name in applied:
            reason = NO_DELETE
        elif address.kind == "domain_admin" and ctx.get("entitlements") == "deploycenter":
            reason = DEPLOYCENTER
        if reason is not None:
            out.append(Change(Action.DEFERRED, address, live=resource, reason=reason))
    return out


def check(changes: Sequence[Change], desired: State, live: State) -> list[Violation]:
    ctx = _context(live)
    out: list[Violation] = []
    admins = [
        c.address
        for c in changes
        if c.address.kind == "domain_admin" and c.action in (Action.CREATE, Action.DELETE)
    ]
    if admins and ctx.get("manage_accesses") is False:
        out.append(
            Violation(
                "messages-manage-accesses",
                tuple(admins),
                "FEATURE_MAILDOMAIN_MANAGE_ACCESSES is off on this server (GET /config/): domain "
                "admins cannot be added or removed over the API",
            )
        )
    for c in changes:
        if c.address.kind == "mailbox" and any(d.path == "type" for d in c.diffs):
            out.append(
                Violation(
                    "messages-mailbox-type",
                    (c.address,),
                    "a mailbox's type (personal or shared) is fixed at creation; delete it and "
                    "create it again under another local part, or keep its type",
                )
            )
    return out
