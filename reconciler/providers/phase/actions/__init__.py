"""Applying Phase changes, one module per kind, each a ``Handler`` (create, update, delete).

``HANDLERS`` maps a kind to its handler; ``apply`` runs one change. The handlers share a
``context.Work`` (client, console, ids of the last read, the applier's keys). Modules:
``context`` (``Work``, ``Handler``), ``access`` (sending a principal's access: REST or console
steps), ``roles``, ``apps``, ``environments``, ``service_accounts``, ``tokens``, ``members``,
``teams``.

Rules apply keeps, whatever the plan (``check`` refused their breach already): an access update
never revokes end-to-end encrypted access; a recipient whose identity key changed since the plan
gets no wrapped key; a POST that may have been executed is never sent blind again
(``kit.create.create_once``: the object is looked up by name and adopted; a token whose answer
was lost is deleted and minted again); a 404 on DELETE means already gone.
"""

from __future__ import annotations

from collections.abc import Mapping

from reconciler.errors import ProviderError
from reconciler.plan.change import Change
from reconciler.providers.base import Outcome
from reconciler.providers.phase.actions import (
    apps,
    environments,
    members,
    roles,
    service_accounts,
    teams,
    tokens,
)
from reconciler.providers.phase.actions.context import Handler, Work

HANDLERS: Mapping[str, Handler] = {
    "role": roles.HANDLER,
    "app": apps.HANDLER,
    "environment": environments.HANDLER,
    "service_account": service_accounts.HANDLER,
    "sa_token": tokens.HANDLER,
    "member": members.HANDLER,
    "team": teams.HANDLER,
}


def apply(work: Work, change: Change) -> Outcome:
    """Apply one change with its kind's handler."""
    handler = HANDLERS.get(change.address.kind)
    if handler is None:
        raise ProviderError(change.address, f"no Phase objects of kind {change.address.kind!r}")
    return handler(work, change)


__all__ = ["HANDLERS", "Handler", "Work", "apply"]
