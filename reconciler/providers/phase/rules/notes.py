"""What a plan shows of E2EE work (pure): for each change, the keys wrapped, for which
recipient key, from whose key, the console steps taken instead of a REST access update, what a
change revokes, what enabling server-side encryption does, and who a new E2EE environment's
key is wrapped for. Shown only when E2EE grants are managed (``Facts.e2ee``)."""

from __future__ import annotations

from collections.abc import Callable

from reconciler.model.resource import JSON
from reconciler.plan.change import Action, Change
from reconciler.providers.phase import normalise as n
from reconciler.providers.phase.rules.common import grant_map, key_holder_label, promotes, steps
from reconciler.providers.phase.rules.facts import Facts

Notes = tuple[dict[str, JSON], list[str]]  # (plan details, warnings)


def e2ee_notes(change: Change, e2ee: set[str], facts: Facts) -> Notes:
    """Plan details and warnings of the E2EE work of one change."""
    if not facts.e2ee:
        return {}, []
    handler = _NOTES.get(change.address.kind)
    return handler(change, e2ee, facts) if handler is not None else ({}, [])


def _principal(change: Change, e2ee: set[str], facts: Facts) -> Notes:
    details: dict[str, JSON] = {}
    found = steps(change, e2ee, facts)
    if found is not None and found.wrapped():
        recipient = change.live.attributes.get("identity_key") if change.live else None
        details["e2ee_wrap"] = [n.env_key(app, env) for app, env in found.wrapped()]
        details["e2ee_recipient_key"] = recipient or "(read when the account exists)"
        details["e2ee_key_holder"] = key_holder_label(facts)
    if found is not None and found.put is None and found.steps:
        details["e2ee_console_steps"] = [
            f"{s.op} {s.app}" + (f": {', '.join(s.environments)}" if s.environments else "")
            for s in found.steps
        ]
    return details, _revocations(change, e2ee, facts)


def _revocations(change: Change, e2ee: set[str], facts: Facts) -> list[str]:
    """A warning naming the E2EE environments this change takes away from a principal."""
    act = change.action
    if change.live is None or act is Action.DEFERRED:
        return []
    had = grant_map(change.live.meta.get("access"))
    keep = (
        grant_map(change.desired.meta.get("access"))
        if act is not Action.DELETE and change.desired is not None
        else {}
    )
    promoted = change.address.kind == "member" and promotes(change, facts.global_roles)
    if act is Action.UPDATE and promoted:
        keep = had
    revoked = [
        n.env_key(app, env)
        for app in sorted(set(had) & e2ee)
        for env in had[app]
        if env not in keep.get(app, [])
    ]
    if not revoked:
        return []
    return [
        f"revokes end-to-end encrypted access to {', '.join(revoked)}: revocation is "
        "not rotation; the former holder may have kept the environment key and what "
        "it decrypts, so rotate those secrets if that matters"
    ]


def _app(change: Change, _e2ee: set[str], facts: Facts) -> Notes:
    enables = any(d.path == "sse" and d.after is True for d in change.diffs)
    if change.action is not Action.UPDATE or not enables:
        return {}, []
    details: dict[str, JSON] = {
        "enable_sse": "every environment key is wrapped for the server's key (initEnvSync), "
        f"unwrapped from {key_holder_label(facts)}"
    }
    warning = (
        "enabling server-side encryption is one-way: the server can decrypt this "
        "app's secrets from then on"
    )
    return details, [warning]


def _environment(change: Change, e2ee: set[str], facts: Facts) -> Notes:
    if change.action is not Action.CREATE or n.split_key(change.address.name)[0] not in e2ee:
        return {}, []
    details: dict[str, JSON] = {
        "e2ee_new_key": "generated here and wrapped for the global-access members: "
        + ", ".join(facts.key_holders)
    }
    return details, []


_NOTES: dict[str, Callable[[Change, set[str], Facts], Notes]] = {
    "member": _principal,
    "service_account": _principal,
    "app": _app,
    "environment": _environment,
}
