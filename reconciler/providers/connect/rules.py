"""Planning rules of a create-only API (pure; docs/connect-api.md#create-only).

``refine``: a changed field of an existing program, opportunity or payment unit cannot be
applied (the automation API has no update): the change becomes a deferred ``cannot_apply``
change, graded as drift, with its diffs and where to change it. Fields the export never shows
are compared with what was last applied and say so ("cannot be read (last applied: ...)").
A partner whose application is still ``invited`` is an applicable update (acceptance). A live
object the spec no longer declares gets a note: it cannot be deleted over the API.

``check``: creating a program or an opportunity needs the fields the spec may leave out for an
exported object (they are never read back): a create without them is refused before any
request.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from reconciler.model.resource import JSON
from reconciler.model.state import State
from reconciler.plan.change import Action, Change
from reconciler.plan.plan import Violation
from reconciler.providers.kit.writeonly import unreadable_details

from .compile import PROGRAM_UNEXPORTED

NO_UPDATE = "the API has no update: change it in Connect (or change the spec back)"
NO_DELETE = "the API has no delete: remove it in Connect, or declare it again"
IMMUTABLE = frozenset({"program", "opportunity", "payment_unit"})
UNEXPORTED = {
    "program": frozenset(PROGRAM_UNEXPORTED),
    "opportunity": frozenset({"is_test", "learn_app.hq_server_url", "deliver_app.hq_server_url"}),
}
NEEDED = {
    "program": ("description", "budget", "country", "start_date", "end_date"),
}


def refine(changes: Sequence[Change], desired: State, live: State) -> list[Change]:
    out: list[Change] = []
    planned = {c.address for c in changes}
    for change in changes:
        kind = change.address.kind
        if change.action is Action.UPDATE and kind in IMMUTABLE and change.diffs:
            out.append(_cannot_apply(change))
        else:
            out.append(change)
    for address, resource in live.items():
        if address not in desired and address not in planned:
            # shown without its pending state, so the note (not "waits for ...") is the reason
            note = dataclasses.replace(resource, pending=None)
            out.append(Change(Action.DEFERRED, address, live=note, reason=NO_DELETE))
    return out


def _cannot_apply(change: Change) -> Change:
    kind = change.address.kind
    details: dict[str, JSON] = dict(change.details)
    hidden = UNEXPORTED.get(kind, frozenset())
    for d in change.diffs:
        if kind == "payment_unit" or d.path in hidden:
            details[d.path] = "cannot be read (last applied: differs from spec)"
    details |= unreadable_details(change)
    return dataclasses.replace(
        change, action=Action.DEFERRED, reason=NO_UPDATE, cannot_apply=True, details=details
    )


def check(changes: Sequence[Change], desired: State, live: State) -> list[Violation]:
    out: list[Violation] = []
    for change in changes:
        if change.action is not Action.CREATE or change.desired is None:
            continue
        attrs = change.desired.attributes
        missing = [f for f in NEEDED.get(change.address.kind, ()) if attrs.get(f) is None]
        if change.address.kind == "opportunity":
            for app in ("learn_app", "deliver_app"):
                spec_app = attrs.get(app)
                if not isinstance(spec_app, dict) or spec_app.get("hq_server_url") is None:
                    missing.append(f"{app}.hq_server_url")
                if f"{app.split('_')[0]}_api_key" not in attrs:
                    missing.append(f"{app}.api_key")
        if missing:
            out.append(
                Violation(
                    "connect-create-fields",
                    (change.address,),
                    f"creating it needs {', '.join(missing)} (never read back, so optional "
                    "only for objects that exist)",
                )
            )
    return out
