"""The E2EE safety rules (pure; docs/phase-api.md#e2ee-revocation-hazard).

REST cannot create an end-to-end encrypted app, change it, its environments or its grants;
an access update replaces a principal's whole set and would revoke, and wipe, its E2EE access.
With E2EE grants managed (a console login), the applier must hold a key for every environment
it wraps for someone, and no environment may be left without a key holder.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from reconciler.address import Address
from reconciler.model.state import State
from reconciler.plan.change import Action, Change
from reconciler.plan.plan import Violation
from reconciler.providers.phase import normalise as n
from reconciler.providers.phase.compile import NAME
from reconciler.providers.phase.rules.common import (
    PRINCIPALS,
    Subject,
    grant_map,
    mapping,
    promotes,
    steps,
    strings,
)
from reconciler.providers.phase.rules.facts import Facts


def app_rules(s: Subject) -> Iterable[Violation]:
    """E2EE apps are not created, renamed, described or deleted through REST; SSE is one-way
    and enabling it needs the console and a key for every environment."""
    a, act = s.change.address, s.change.action
    if act is Action.CREATE and s.want.get("sse") is False:
        unseen = (
            " (if it exists, this service-account token cannot see it)"
            if s.facts.token_kind == "service"
            else ""
        )
        yield s.refuse(
            "e2ee",
            "end-to-end encrypted apps cannot be created through the API; create it "
            f"in the console, or declare sse: true{unseen}",
        )
    if act is Action.UPDATE and "sse" in s.diffs:
        yield from _enable_sse(s)
    if act is Action.UPDATE and a.name in s.e2ee and s.diffs & {"name", "description"}:
        yield s.refuse(
            "e2ee",
            "the API cannot rename or describe an end-to-end encrypted app; change it in "
            "the console (or enable server-side encryption with sse: true)",
        )
    if act is Action.DELETE and s.have.get("sse") is False:
        yield s.refuse("e2ee", "end-to-end encrypted apps cannot be deleted through the API")


def _enable_sse(s: Subject) -> Iterable[Violation]:
    if s.want.get("sse") is False:
        yield s.refuse("e2ee", "server-side encryption cannot be turned off (one-way)")
        return
    if not s.facts.e2ee:
        yield s.refuse(
            "e2ee", f"enabling server-side encryption needs the console: {s.console_hint()}"
        )
        return
    prefix = s.change.address.name + "/"
    envs = [r.address.name for r in s.live.of_kind(NAME, "environment")]
    missing = [e for e in envs if e.startswith(prefix) and e not in s.facts.held]
    if missing:
        yield s.refuse(
            "e2ee_key",
            "enabling server-side encryption needs a key for every environment; "
            f"the applying principal holds none for {', '.join(missing)}",
        )


def environment_rules(s: Subject) -> Iterable[Violation]:
    """Without the console, environments of E2EE apps are not touched."""
    in_e2ee = n.split_key(s.change.address.name)[0] in s.e2ee
    if in_e2ee and s.change.action is not Action.DEFERRED and not s.facts.e2ee:
        yield s.refuse(
            "e2ee",
            "environments of an end-to-end encrypted app are created, renamed and deleted "
            f"through the console: {s.console_hint()}",
        )


def e2ee_grants(s: Subject) -> Iterable[Violation]:
    """Teams never hold E2EE apps; principals do only when E2EE grants are managed."""
    kind = s.change.address.kind
    if s.change.action is Action.DELETE:
        return
    for app in sorted(set(mapping(s.want.get("access"))) & s.e2ee):
        if kind == "team":
            yield s.refuse(
                "e2ee",
                f"grants access to end-to-end encrypted app {app!r}: teams can hold only "
                "apps with server-side encryption; grant the team's members one by one",
            )
        elif not s.facts.e2ee:
            yield s.refuse(
                "e2ee",
                f"grants access to end-to-end encrypted app {app!r}: the API cannot "
                f"grant it (the keys are re-wrapped by a key holder); {s.console_hint()}",
            )


def access_update_hazard(s: Subject) -> Iterable[Violation]:
    """Without the console, no access update for a principal holding E2EE (or unseen) apps:
    it would revoke them and wipe their keys."""
    change = s.change
    if change.action is not Action.UPDATE or s.facts.e2ee:
        return
    sends_access = "access" in s.diffs or bool(change.details.get("resend_access"))
    if change.address.kind == "member" and (
        promotes(change, s.facts.global_roles)
        or promotes(change, s.facts.global_roles, demotion=True)
    ):
        sends_access = True
    held = strings(s.have.get("e2ee_access"))
    if sends_access and held:
        app = held[0]
        what = (
            f"an app this token cannot see (id {app[1:]})"
            if app.startswith("?")
            else f"end-to-end encrypted app {app!r}"
        )
        yield s.refuse(
            "e2ee",
            f"holds access to {what}: an access update replaces the whole set and would "
            "revoke it and wipe its keys; change this principal's access in the console",
        )


def e2ee_violations(
    changes: Sequence[Change], live: State, e2ee: set[str], made: set[Address | str], facts: Facts
) -> list[Violation]:
    """The applier must hold a key for every environment it wraps (``made``: environments
    this plan creates); no environment may be left without a key holder."""
    out: list[Violation] = []
    holders = _key_holders(live, e2ee)
    before = {k: set(v) for k, v in holders.items()}
    for change in changes:
        out.extend(_unwrappable(change, e2ee, made, facts))
        a = change.address
        if a.kind not in PRINCIPALS or change.action is Action.DEFERRED:
            continue
        for held in holders.values():
            held.discard(a)
        if change.action is not Action.DELETE and change.desired is not None:
            for app, envs in grant_map(change.desired.meta.get("access")).items():
                if app in e2ee:
                    for env in envs:
                        holders.setdefault(n.env_key(app, env), set()).add(a)
    for env, was in sorted(before.items()):
        if was and not holders.get(env) and env not in facts.held:
            out.append(
                Violation(
                    "e2ee_holder",
                    tuple(sorted(was, key=str)),
                    f"{env} would be left with no key holder (the applying principal holds "
                    "none): nobody could decrypt its secrets again; keep one holder",
                )
            )
    return out


def _key_holders(live: State, e2ee: set[str]) -> dict[str, set[Address]]:
    """E2EE environment (``app/env``) -> the live principals holding its key."""
    holders: dict[str, set[Address]] = {}
    for r in live.resources():
        if r.address.kind in PRINCIPALS:
            for app, envs in grant_map(r.meta.get("access")).items():
                if app in e2ee:
                    for env in envs:
                        holders.setdefault(n.env_key(app, env), set()).add(r.address)
    return holders


def _unwrappable(
    change: Change, e2ee: set[str], made: set[Address | str], facts: Facts
) -> list[Violation]:
    found = steps(change, e2ee, facts)
    if found is None:
        return []
    missing = [
        key
        for key in (n.env_key(app, env) for app, env in found.wrapped())
        if key not in facts.held and key not in made
    ]
    if not missing:
        return []
    return [
        Violation(
            "e2ee_key",
            (change.address,),
            f"the applying principal holds no key for {', '.join(missing)}, so "
            "it cannot wrap one for this principal (a key holder grants it in "
            "the console, or grants the applier first)",
        )
    ]
