"""What a service-account token cannot do (pure;
docs/phase-api.md#what-a-service-account-token-cannot-do): assign a
global-access role or touch Owner and Admin members, mint tokens for other accounts, or grant
environments it does not hold itself. Per-kind rule lists, like ``check.py``."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from reconciler.address import Address
from reconciler.model.resource import JSON
from reconciler.model.state import State
from reconciler.plan.change import Action
from reconciler.plan.plan import Violation
from reconciler.providers.phase import normalise as n
from reconciler.providers.phase.compile import addr
from reconciler.providers.phase.rules.common import Subject, mapping, opt, strings

Messages = Callable[[Subject], Iterable[str]]


def service_token_rules(s: Subject) -> list[Violation]:
    """The refusals for one change planned with a service-account token (``s.made``: initial
    tokens of accounts and ``app/env`` keys of environments this plan creates)."""
    return [
        s.refuse("sa_caller", message + " (use an Owner or Admin PAT)")
        for rule in _RULES.get(s.change.address.kind, ())
        for message in rule(s)
    ]


def _global_roles(s: Subject) -> Iterable[str]:
    act, globals_ = s.change.action, s.facts.global_roles
    if act is Action.DEFERRED:
        return
    if n.is_global(opt(s.want.get("role")), globals_) and act is not Action.DELETE:
        yield "a service-account token cannot assign a global-access role"
    if n.is_global(opt(s.have.get("role")), globals_) and act is not Action.CREATE:
        yield "a service-account token cannot change or remove Owner or Admin members"


def _mint_for_others(s: Subject) -> Iterable[str]:
    a = s.change.address
    if s.change.action not in (Action.CREATE, Action.UPDATE):
        return
    if n.split_key(a.name)[0] != s.facts.caller_sa and a not in s.made:
        yield (
            "a service-account token can mint tokens only for itself (or for accounts of its teams)"
        )


def _grants_not_held(s: Subject) -> Iterable[str]:
    if s.change.action not in (Action.CREATE, Action.UPDATE):
        return
    missing = _not_held(s.want, caller_access(s.live, s.facts.caller_sa), s.made)
    if missing:
        yield (
            "a service-account token can grant only environments it holds itself; "
            f"it lacks {', '.join(missing[:3])}" + (" …" if len(missing) > 3 else "")
        )


_RULES: dict[str, tuple[Messages, ...]] = {
    "member": (_global_roles, _grants_not_held),
    "service_account": (_grants_not_held,),
    "team": (_grants_not_held,),
    "sa_token": (_mint_for_others,),
}


def _not_held(
    want: Mapping[str, JSON], mine: Mapping[str, list[str]], made: set[Address | str]
) -> list[str]:
    return [
        f"{app}/{env}"
        for app, envs in sorted(mapping(want.get("access")).items())
        for env in strings(envs)
        if env not in mine.get(app, ()) and n.env_key(app, env) not in made
    ]


def caller_access(live: State, caller: str | None) -> dict[str, list[str]]:
    """The applying service account's own access (empty when it is not in ``live``)."""
    if caller is None or addr("service_account", caller) not in live:
        return {}
    meta = live[addr("service_account", caller)].meta.get("access")
    return {k: strings(v) for k, v in mapping(meta).items()}
