"""Service accounts: created (with their first token), renamed, given a role and access,
deleted (docs/phase-api.md#service-accounts).

The server mints a token that never expires with every new account. It serves the account's
first declared token without an expiry (the token change then only stores it); otherwise it is
deleted at once: a secret shown once and stored nowhere is only a risk. After a lost create
answer the account is adopted by name and every token it has is deleted, since nobody can ever
use the one whose secret was lost.
"""

from __future__ import annotations

from typing import Any

from reconciler.address import Address
from reconciler.plan.change import Change
from reconciler.providers.base import Outcome
from reconciler.providers.kit.create import create_once
from reconciler.providers.phase import normalise as n
from reconciler.providers.phase import payloads as p
from reconciler.providers.phase.actions.access import send_access
from reconciler.providers.phase.actions.context import Handler, Work, deleting, live_id
from reconciler.providers.phase.compile import addr
from reconciler.providers.phase.rules.common import mapping, opt

PATH = "/v1/service-accounts/"


def _access_path(sa_id: str) -> str:
    return f"{PATH}{sa_id}/access/"


def create(work: Work, change: Change) -> Outcome:
    a = change.address
    want = change.resource.attributes
    token = opt(change.resource.meta.get("initial_token"))
    first = addr("sa_token", n.env_key(a.name, token)) if token else None
    body: dict[str, Any] = {
        "name": a.name,
        "role_id": work.role_id(opt(want["role"]), a),
        "token_name": token or "Default",
    }
    team = opt(want.get("team"))
    if team is not None:
        body["team_id"] = work.id("teams", team, a)
    if first is not None:
        # If this run stops before the initial token is stored, the next run mints it again.
        work.record(first, "minting", True)
    made = create_once(
        lambda: work.client.decoded(p.ServiceAccountMade, "POST", PATH, body=body, address=a),
        lambda: work.find(PATH, a.name, a),
    )
    sa_id = made.value.id
    work.remember("sas", a.name, sa_id)
    if team is not None:
        work.record(a, "team", {"id": sa_id, "team": team})
    if isinstance(made.value, p.ServiceAccountMade) and not made.adopted:
        _keep_or_drop_initial(work, change, sa_id, made.value.initial_token, first)
    else:  # the answer with the initial token was lost: nobody can ever use that token
        detail = work.client.decoded(p.ServiceAccountDetail, "GET", f"{PATH}{sa_id}/", address=a)
        for lost in detail.tokens:
            _delete_token(work, change, sa_id, lost.id)
    grants = mapping(change.resource.meta.get("access"))
    if grants:
        send_access(work, change, _access_path(sa_id), "service", sa_id, grants)
    message = "adopted existing service account" if made.adopted else None
    return Outcome(server_id=sa_id, message=message)


def _keep_or_drop_initial(
    work: Work, change: Change, sa_id: str, initial: p.MintedToken | None, first: Address | None
) -> None:
    """Hand the initial token to the change of the token it serves (``first``), or delete it."""
    if initial is None:
        return
    if first is None:
        _delete_token(work, change, sa_id, initial.id)
        return
    with work.lock:
        work.minted[first.name] = initial.token
    work.remember("tokens", first.name, initial.id)


def _delete_token(work: Work, change: Change, sa_id: str, token_id: str) -> None:
    work.client.request(
        "DELETE", f"{PATH}{sa_id}/tokens/{token_id}/", address=change.address, ok_missing=True
    )


def update(work: Work, change: Change) -> Outcome:
    a = change.address
    want = change.resource.attributes
    sa_id = live_id(change)
    paths = {d.path.split(".")[0] for d in change.diffs}
    put: dict[str, Any] = {}
    if "name" in paths:
        put["name"] = want["name"]
    if "role" in paths:
        put["role_id"] = work.role_id(opt(want["role"]), a)
    if put:
        work.client.request("PUT", f"{PATH}{sa_id}/", body=put, address=a)
    if "access" in paths or change.details.get("resend_access"):
        want_access = mapping(change.resource.meta.get("access"))
        send_access(work, change, _access_path(sa_id), "service", sa_id, want_access)
    return Outcome(server_id=sa_id)


HANDLER = Handler(create=create, update=update, delete=deleting("service-accounts"))
