"""Helpers the planning rules share: JSON readers, promotion, E2EE apps and access steps.

Pure. ``principal_steps``, ``promotion_access`` and ``invite_role`` are also what apply uses
to send the access the plan showed, so the two never disagree.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Iterable, Mapping
from dataclasses import dataclass, field

from reconciler.address import Address
from reconciler.model.resource import JSON
from reconciler.model.state import State
from reconciler.plan.change import Action, Change
from reconciler.plan.plan import Violation
from reconciler.providers.phase import normalise as n
from reconciler.providers.phase.compile import NAME
from reconciler.providers.phase.e2ee import AccessSteps, access_steps
from reconciler.providers.phase.rules.facts import Facts

PRINCIPALS = ("member", "service_account")


def mapping(value: JSON | None) -> Mapping[str, JSON]:
    return value if isinstance(value, Mapping) else {}


def strings(value: JSON | None) -> list[str]:
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return []


def opt(value: JSON | None) -> str | None:
    return None if value is None else str(value)


def grant_map(value: JSON | None) -> dict[str, list[str]]:
    """An access mapping ``{app: [env, ...]}`` from JSON (anything else is empty)."""
    return {str(k): strings(v) for k, v in mapping(value).items()}


def promotes(change: Change, global_roles: Iterable[str], *, demotion: bool = False) -> bool:
    """The change gives a member a global-access role (``demotion``: takes it away)."""
    want = change.desired.attributes.get("role") if change.desired else None
    have = change.live.attributes.get("role") if change.live else None
    if demotion:
        want, have = have, want
    return n.is_global(opt(want), global_roles) and not n.is_global(opt(have), global_roles)


def e2ee_apps(desired: State, live: State, facts: Facts) -> set[str]:
    """Apps end-to-end encrypted once this plan is applied: live E2EE apps (and apps
    declared ``sse: false``), except those whose SSE the plan enables."""
    declared = {r.address.name: r.attributes.get("sse") for r in desired.of_kind(NAME, "app")}
    out = {a for a, sse in declared.items() if sse is False}
    for r in live.of_kind(NAME, "app"):
        name = r.address.name
        if r.attributes.get("sse") is False and not (facts.e2ee and declared.get(name)):
            out.add(name)
    return out


def promotion_access(
    envs: Iterable[str], held: Container[str], managed: bool, e2ee: set[str]
) -> dict[str, list[str]]:
    """What a member promoted to a global-access role is given first: every SSE environment
    of ``envs`` (``app/env``), and when E2EE grants are ``managed`` every E2EE one the applier
    ``held`` a key for."""
    out: dict[str, list[str]] = {}
    for key in envs:
        app, env = n.split_key(key)
        if app not in e2ee or (managed and key in held):
            out.setdefault(app, []).append(env)
    return out


def principal_steps(
    change: Change,
    e2ee: set[str],
    global_roles: Iterable[str],
    everything: Callable[[], Mapping[str, JSON]],
    want: Mapping[str, JSON] | None = None,
) -> AccessSteps | None:
    """The access steps of a member or service-account change (``None``: none sent).
    ``want``: the set to send (default: the desired one, or ``everything()`` on promotion)."""
    a, act = change.address, change.action
    if a.kind not in PRINCIPALS or change.desired is None:
        return None
    if act is Action.DEFERRED or (a.kind == "member" and act is Action.CREATE):
        return None
    if want is None:
        promote = a.kind == "member" and promotes(change, global_roles)
        diffs = {d.path.split(".")[0] for d in change.diffs}
        resend = bool(change.details.get("resend_access"))
        if act is Action.UPDATE and not (promote or resend or "access" in diffs):
            return None
        want = everything() if promote else mapping(change.desired.meta.get("access"))
    live = change.live
    in_apps = set(strings(live.meta.get("apps"))) if live else set()
    guarded = strings(live.attributes.get("e2ee_access")) if live else []
    return access_steps(
        in_apps,
        grant_map(live.meta.get("access")) if live else {},
        grant_map(want),
        e2ee,
        unseen=any(g.startswith("?") for g in guarded),
        force=frozenset(in_apps) if change.details.get("resend_access") else frozenset(),
    )


def steps(change: Change, e2ee: set[str], facts: Facts) -> AccessSteps | None:
    """``principal_steps`` with the desired set (every environment on promotion)."""
    return principal_steps(
        change,
        e2ee,
        facts.global_roles,
        lambda: promotion_access(facts.envs, facts.held, facts.e2ee, e2ee),
    )


def invite_role(role: str, global_roles: Iterable[str], minting_roles: Container[str]) -> str:
    """The role an invite is sent with: the server refuses global-access roles and roles
    that can mint service-account tokens in invites; those are set after acceptance."""
    if n.is_global(role, global_roles) or role in minting_roles:
        return "Developer"
    return role


def key_holder_label(facts: Facts) -> str:
    """The applying principal, and its identity key when known, as plans show it."""
    who = facts.caller_email or "the applying principal"
    return f"{who} ({facts.caller_key})" if facts.caller_key else who


@dataclass(frozen=True)
class Subject:
    """One change as the check rules see it.

    ``made``: initial tokens of accounts and ``app/env`` keys of environments this plan
    creates (their creator holds them); ``diffs``: the top-level attributes that change.
    """

    change: Change
    facts: Facts
    live: State
    e2ee: set[str]
    made: set[Address | str]
    diffs: set[str] = field(default_factory=set)

    @property
    def have(self) -> Mapping[str, JSON]:
        return self.change.live.attributes if self.change.live else {}

    @property
    def want(self) -> Mapping[str, JSON]:
        return self.change.desired.attributes if self.change.desired else {}

    def refuse(self, rule: str, message: str) -> Violation:
        return Violation(rule, (self.change.address,), message)

    def console_hint(self) -> str:
        """How to get E2EE work done, for this token."""
        if self.facts.token_kind == "user":
            return (
                "set connection.email and connection.password (the console login of the "
                "token's user) so that reconciler re-wraps the keys"
            )
        return "that needs an Owner or Admin PAT with connection.email and connection.password"
