"""Teams: created (adopted by name after a lost answer), changed, their members and access
set, deleted (docs/phase-api.md#teams).

Membership is changed one principal at a time (adding twice is harmless; removing someone not a
member is a 404, already done). The applying principal is never removed (the server made it a
member of the teams it creates), nor are service accounts the team owns (they leave with their
deletion). The team's access is replaced whole (``PUT …/access/``) when it differs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.plan.change import Change
from reconciler.providers.base import Outcome
from reconciler.providers.kit.create import create_once
from reconciler.providers.phase import normalise as n
from reconciler.providers.phase import payloads as p
from reconciler.providers.phase.actions.access import access_body
from reconciler.providers.phase.actions.context import Handler, Work, deleting, live_id
from reconciler.providers.phase.rules.common import mapping, opt, strings

PATH = "/v1/teams/"
# (member_type, attribute, index table)
PRINCIPALS = (("user", "members", "members"), ("service_account", "service_accounts", "sas"))


def _roles(work: Work, change: Change) -> tuple[str, str]:
    """The member and service-account role override ids (``""``: none)."""
    want, a = change.resource.attributes, change.address
    member_role = work.role_id(opt(want["member_role"]), a) or ""
    sa_role = work.role_id(opt(want["service_account_role"]), a) or ""
    return member_role, sa_role


def create(work: Work, change: Change) -> Outcome:
    a = change.address
    want = change.resource.attributes
    member_role, sa_role = _roles(work, change)
    body: dict[str, Any] = {"name": a.name}
    if want["description"]:
        body["description"] = n.as_written(change.resource, "description")
    if member_role:
        body["member_role_id"] = member_role
    if sa_role:
        body["service_account_role_id"] = sa_role
    made = create_once(
        lambda: work.client.decoded(p.Made, "POST", PATH, body=body, address=a),
        lambda: work.find(PATH, a.name, a),
    )
    team_id = made.value.id
    work.remember("teams", a.name, team_id)
    have: Mapping[str, Any] = {"members": [], "service_accounts": [], "access": {}}
    if made.adopted:
        have = _members_now(work, change, team_id)
    _sync(work, change, team_id, have)
    return Outcome(server_id=team_id)


def _members_now(work: Work, change: Change, team_id: str) -> dict[str, Any]:
    """An adopted team's members by label, its access unknown (so it is sent)."""
    detail = work.client.decoded(p.TeamDetail, "GET", f"{PATH}{team_id}/", address=change.address)
    with work.lock:
        sa_names = {v: k for k, v in work.index.sas.items()}
        emails = {v: k for k, v in work.index.members.items()}
    return {
        "members": [emails.get(m.id, "") for m in detail.members if m.type == "user"],
        "service_accounts": [sa_names.get(m.id, "") for m in detail.members if m.type != "user"],
        "access": None,
    }


def update(work: Work, change: Change) -> Outcome:
    a = change.address
    want = change.resource.attributes
    team_id = live_id(change)
    member_role, sa_role = _roles(work, change)
    changed = {d.path.split(".")[0] for d in change.diffs}
    fields = {
        "name": want["name"],
        "description": n.as_written(change.resource, "description"),
        "member_role_id": member_role,
        "service_account_role_id": sa_role,
    }
    attribute = {"member_role_id": "member_role", "service_account_role_id": "service_account_role"}
    put = {k: v for k, v in fields.items() if attribute.get(k, k) in changed}
    if put:
        work.client.request("PUT", f"{PATH}{team_id}/", body=put, address=a)
    _sync(work, change, team_id, change.live.attributes if change.live else {})
    return Outcome(server_id=team_id)


def _sync(work: Work, change: Change, team_id: str, have: Mapping[str, Any]) -> None:
    """Members added and removed, then the access replaced when it differs."""
    a = change.address
    want = change.resource.attributes
    owned = set(strings(change.resource.meta.get("owned")))
    with work.lock:
        caller = {work.index.caller_email, work.index.caller_sa}
    for kind, key, table in PRINCIPALS:
        wanted = set(strings(want[key])) - (owned if kind != "user" else set())
        now = set(strings(have.get(key)))
        add = sorted(wanted - now)
        if add:
            ids = [work.id(table, x, a) for x in add]
            body = {"member_type": kind, "member_ids": ids}
            work.client.request("POST", f"{PATH}{team_id}/members/", body=body, address=a)
        for gone in sorted(now - wanted - owned - caller):
            work.client.request(
                "DELETE", f"{PATH}{team_id}/members/{work.id(table, gone, a)}/",
                params={"member_type": kind}, address=a, ok_missing=True,
            )  # fmt: skip
    if want["access"] != have.get("access"):
        body = access_body(work, mapping(want["access"]), a)
        work.client.request("PUT", f"{PATH}{team_id}/access/", body=body, address=a)


HANDLER = Handler(create=create, update=update, delete=deleting("teams"))
