"""Members and invites (docs/phase-api.md#members, #invites).

A new member is an invite (members appear when it is accepted, in the console): it is sent with
the declared role unless the server refuses that role in invites (``rules.common.invite_role``);
409 means invited already, perhaps by a POST whose answer was lost. A role change follows
docs/phase-api.md#promotion-and-demotion-order: promotion to a global-access role gives access to
every environment first (a role change grants no keys), demotion changes the role first, then
sends the desired access. A member who has not logged in since the invite has no identity key
yet: the server refuses to give them keys, so the change is left pending and a later run
completes it.
"""

from __future__ import annotations

from reconciler.errors import ProviderError
from reconciler.plan.change import Change
from reconciler.providers.base import Outcome
from reconciler.providers.phase import normalise as n
from reconciler.providers.phase import payloads as p
from reconciler.providers.phase.actions.access import promotion, send_access
from reconciler.providers.phase.actions.context import Handler, Work, live_id
from reconciler.providers.phase.rules.common import invite_role, mapping, opt

PENDING_INVITE = "invited; waits for acceptance"
PENDING_KEYS = (
    "member has not logged in since the invite (no keys yet); a later run sets their access"
)
# The server's refusal of a member without identity key: 400 on an access update, 403 on a role
# change (docs/phase-api.md#members). Both statuses have other causes too and the answer has no
# code field, so the message is the only way to tell this one apart.
NO_IDENTITY_KEY = "identity key"


def create(work: Work, change: Change) -> Outcome:
    a = change.address
    role = str(change.resource.attributes["role"])
    with work.lock:
        sent_as = invite_role(role, work.index.global_roles, work.index.minting_roles)
    body = {"email": a.name, "role_id": work.role_id(sent_as, a)}
    try:
        made = work.client.decoded(p.Made, "POST", "/v1/members/invites/", body=body, address=a)
    except ProviderError as exc:
        if exc.status != 409:  # 409: invited already (perhaps by a POST whose answer was lost)
            raise
        return Outcome(pending=PENDING_INVITE)
    return Outcome(server_id=made.id, pending=PENDING_INVITE)


def delete(work: Work, change: Change) -> Outcome:
    live = change.live
    assert live is not None, "a delete has a live object"
    path = (
        f"/v1/members/invites/{live.id}/" if live.meta.get("invite") else f"/v1/members/{live.id}/"
    )
    work.client.request("DELETE", path, address=change.address, ok_missing=True)
    return Outcome()


def update(work: Work, change: Change) -> Outcome:
    a = change.address
    member_id = live_id(change)
    try:
        _update(work, change, member_id)
    except ProviderError as exc:
        if exc.status in (400, 403) and NO_IDENTITY_KEY in exc.message:
            work.record(a, "no_identity_key", member_id)
            return Outcome(pending=PENDING_KEYS)
        raise
    if work.store is not None and work.store.get_record(a, "no_identity_key"):
        work.record(a, "no_identity_key", None)
    return Outcome(server_id=member_id)


def _update(work: Work, change: Change, member_id: str) -> None:
    a = change.address
    wanted = str(change.resource.attributes["role"])
    had = opt(change.live.attributes.get("role")) if change.live else None
    with work.lock:
        globals_ = set(work.index.global_roles)
    role_changes = wanted != had
    promote = role_changes and n.is_global(wanted, globals_) and not n.is_global(had, globals_)
    demote = role_changes and n.is_global(had, globals_) and not n.is_global(wanted, globals_)
    access_changes = any(d.path.split(".")[0] == "access" for d in change.diffs)
    path = f"/v1/members/{member_id}/access/"
    if promote:  # keys for every environment first: role changes grant none
        everything = promotion(work, work.live_e2ee())
        send_access(work, change, path, "user", member_id, everything)
    if role_changes:
        body = {"role_id": work.role_id(wanted, a)}
        work.client.request("PUT", f"/v1/members/{member_id}/", body=body, address=a)
    if (access_changes or demote) and not n.is_global(wanted, globals_):
        want = mapping(change.resource.meta.get("access"))
        send_access(work, change, path, "user", member_id, want)


HANDLER = Handler(create=create, update=update, delete=delete)
