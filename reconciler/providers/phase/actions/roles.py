"""Custom roles: created (adopted after a lost answer or a name clash), replaced, deleted.

A role name is unique in the organisation, case ignored (docs/phase-api.md#roles): a 409 on
create means a role of that name exists, perhaps made by a POST whose answer was lost, so it is
adopted and made as declared. An update sends the whole role (the server replaces its
permissions wholesale).
"""

from __future__ import annotations

from typing import Any

from reconciler.errors import ProviderError
from reconciler.plan.change import Change
from reconciler.providers.base import Outcome
from reconciler.providers.kit.create import Created, create_once
from reconciler.providers.phase import normalise as n
from reconciler.providers.phase import payloads as p
from reconciler.providers.phase.actions.context import Handler, Work, deleting, live_id


def _body(change: Change) -> dict[str, Any]:
    want = change.resource.attributes
    return {
        "name": want.get("name", change.address.name),
        "description": n.as_written(change.resource, "description"),
        "color": want["color"],
        "permissions": {
            "permissions": want["permissions"],
            "app_permissions": want["app_permissions"],
        },
    }


def create(work: Work, change: Change) -> Outcome:
    a = change.address
    body = _body(change)

    def lookup() -> p.Made | None:
        return work.find("/v1/roles/", a.name, a, fold=True)

    try:
        made = create_once(
            lambda: work.client.decoded(p.Made, "POST", "/v1/roles/", body=body, address=a),
            lookup,
        )
    except ProviderError as exc:
        found = lookup() if exc.status == 409 else None  # the name is taken: by this role?
        if found is None:
            raise
        made = Created(found, adopted=True)
    role_id = made.value.id
    work.remember("roles", a.name, role_id)
    if made.adopted:  # it may predate us, or hold the answer we lost: make it as declared
        work.client.request("PUT", f"/v1/roles/{role_id}/", body=body, address=a)
        return Outcome(server_id=role_id, message="adopted existing role")
    return Outcome(server_id=role_id)


def update(work: Work, change: Change) -> Outcome:
    role_id = live_id(change)
    work.client.request("PUT", f"/v1/roles/{role_id}/", body=_body(change), address=change.address)
    return Outcome(server_id=role_id)


HANDLER = Handler(create=create, update=update, delete=deleting("roles"))
