"""refine: the plan's Phase-specific edges, warnings and details (pure).

* Deletes the server does by cascade (children of a deleted or undeclared parent) are dropped;
  what each delete takes with it is its ``cascade`` (``cascade.py``), so the delete limits
  still count the environments and tokens dropped here.
* The server gives a new environment to every service account that is an individual member of
  its app (docs/phase-api.md#environments), whatever the spec says: such an account's
  access is re-sent after the environment exists.
* Warnings per kind (hard deletes, invites, tokens without a store, ...) and, when E2EE grants
  are managed, what each change wraps, for which key, from whose key (``notes.py``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

from reconciler.address import Address
from reconciler.model.resource import JSON
from reconciler.model.state import State
from reconciler.plan.change import Action, Change
from reconciler.providers.phase import normalise as n
from reconciler.providers.phase.compile import NAME, addr
from reconciler.providers.phase.rules.cascade import cascade_of
from reconciler.providers.phase.rules.common import e2ee_apps, invite_role, mapping, opt
from reconciler.providers.phase.rules.facts import Facts, facts_of
from reconciler.providers.phase.rules.notes import e2ee_notes


def refine(changes: Sequence[Change], desired: State, live: State) -> list[Change]:
    """Drop deletes the server does by cascade (or that belong to unmanaged parents), say
    what each delete takes with it, re-send service-account access after new environments,
    add warnings and details."""
    facts = facts_of(live)
    kept = [c for c in changes if not cascaded(c, desired)]
    kept = resend_after_new_envs(kept, desired, live, facts.caller_sa)
    e2ee = e2ee_apps(desired, live, facts)
    out = []
    for change in kept:
        warnings = WARNINGS.get(change.address.kind, _none)(change, facts)
        details, more = e2ee_notes(change, e2ee, facts)
        out.append(
            dataclasses.replace(
                change,
                warnings=change.warnings + tuple(warnings) + tuple(more),
                details={**change.details, **details},
                cascade=cascade_of(change, live),
            )
        )
    return out


def cascaded(change: Change, desired: State) -> bool:
    """A delete of an environment or token whose parent is not declared: the parent's own
    delete removes it (cascade), or the parent is unmanaged and so are its children."""
    if change.action is not Action.DELETE:
        return False
    if change.address.kind == "environment":
        return addr("app", n.split_key(change.address.name)[0]) not in desired
    if change.address.kind == "sa_token":
        return addr("service_account", n.split_key(change.address.name)[0]) not in desired
    return False


def resend_after_new_envs(
    changes: list[Change], desired: State, live: State, caller: str | None = None
) -> list[Change]:
    """Service accounts holding an app that gains an environment: their access update goes
    after the new environments (an update of theirs in the plan, or one added here)."""
    new_envs: dict[str, list[Address]] = {}
    for c in changes:
        if c.address.kind == "environment" and c.action is Action.CREATE:
            new_envs.setdefault(n.split_key(c.address.name)[0], []).append(c.address)
    if not new_envs:
        return changes
    out = list(changes)
    at = {c.address: i for i, c in enumerate(out)}
    for sa in live.of_kind(NAME, "service_account"):
        held = set(mapping(sa.meta.get("access"))) & set(new_envs)
        if not held or sa.address not in desired or sa.address.name == caller:
            continue
        after = tuple(sorted(a for app in held for a in new_envs[app]))
        details: dict[str, JSON] = {"resend_access": True}
        if sa.address in at:
            c = out[at[sa.address]]
            if c.action is Action.UPDATE:
                out[at[sa.address]] = dataclasses.replace(
                    c, depends_on=c.depends_on + after, details={**c.details, **details}
                )
            continue
        out.append(
            Change(
                Action.UPDATE,
                sa.address,
                desired=desired[sa.address],
                live=sa,
                depends_on=after,
                details=details,
                warnings=(
                    "access re-sent after the new environments: the server gives them to the "
                    "app's service accounts",
                ),
            )
        )
    return out


# -- warnings, per kind ---------------------------------------------------------------------


def _none(_change: Change, _facts: Facts) -> list[str]:
    return []


def _token_warnings(change: Change, _facts: Facts) -> list[str]:
    out = []
    if change.action in (Action.CREATE, Action.UPDATE):
        if change.desired is not None and change.desired.meta.get("store") is None:
            out.append(
                "token has no store: its secret is shown by the API once and is discarded; "
                "add store: {file: …} or store: {app, environment, key}"
            )
        if change.action is Action.UPDATE:
            out.append("a new token is minted and stored, then the old one is deleted")
    return out


def _created_unseen(change: Change, facts: Facts) -> list[str]:
    """An app or environment created with a service-account token, which sees only its own."""
    if change.action is Action.CREATE and facts.token_kind == "service":
        return [
            "a service-account token sees only the apps and environments it holds: if "
            "one of this name exists out of its sight, an app is created twice (an "
            "environment is refused by the server)"
        ]
    return []


def _app_warnings(change: Change, facts: Facts) -> list[str]:
    out = []
    if change.action is Action.DELETE:
        out.append("deleting an app deletes all its environments and secrets (hard delete)")
    return out + _created_unseen(change, facts)


def _environment_warnings(change: Change, facts: Facts) -> list[str]:
    out = []
    if change.action is Action.DELETE:
        out.append("deleting an environment deletes its secrets (hard delete)")
    return out + _created_unseen(change, facts)


def _principal_warnings(_change: Change, facts: Facts) -> list[str]:
    if facts.caller_id:
        return []
    return [
        "the server did not say which principal this token is (/secrets/tokens/), so "
        "the rules protecting the applying principal cannot be checked"
    ]


def _member_warnings(change: Change, facts: Facts) -> list[str]:
    out = _principal_warnings(change, facts)
    if change.action is Action.CREATE and change.desired is not None:
        role = opt(change.desired.attributes.get("role"))
        if role is not None and invite_role(role, facts.global_roles, facts.minting_roles) != role:
            out.append(
                f"invited as Developer: the server does not invite with the {role} role; "
                "the role is set once the invite is accepted"
            )
    # read() marks a member the last apply found without keys (a note in the state store)
    live = change.live
    if change.action is Action.UPDATE and live and live.meta.get("no_keys_at_last_apply"):
        out.append(
            "the last apply found this member without keys (not logged in since the "
            "invite); their access is set once they have logged in"
        )
    return out


WARNINGS: dict[str, Callable[[Change, Facts], list[str]]] = {
    "sa_token": _token_warnings,
    "app": _app_warnings,
    "environment": _environment_warnings,
    "member": _member_warnings,
    "service_account": _principal_warnings,
    "team": _principal_warnings,
}
