"""What a service-account token cannot do (pure; contracts/phase.md §8 item 3): assign a
global-access role or touch Owner and Admin members, mint tokens for other accounts, or grant
environments it does not hold itself."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from reconciler.address import Address
from reconciler.model.resource import JSON
from reconciler.model.state import State
from reconciler.plan.change import Action
from reconciler.plan.plan import Violation
from reconciler.providers.phase import normalise as n
from reconciler.providers.phase.compile import addr
from reconciler.providers.phase.rules.common import Subject, mapping, opt, strings


def service_token_rules(s: Subject) -> Iterable[Violation]:
    """The refusals for one change planned with a service-account token (``s.made``: initial
    tokens of accounts and ``app/env`` keys of environments this plan creates)."""
    a, act = s.change.address, s.change.action
    globals_ = s.facts.global_roles
    messages: list[str] = []
    if a.kind == "member" and act is not Action.DEFERRED:
        if n.is_global(opt(s.want.get("role")), globals_) and act is not Action.DELETE:
            messages.append("a service-account token cannot assign a global-access role")
        if n.is_global(opt(s.have.get("role")), globals_) and act is not Action.CREATE:
            messages.append(
                "a service-account token cannot change or remove Owner or Admin members"
            )
    if a.kind == "sa_token" and act in (Action.CREATE, Action.UPDATE):
        sa = n.split_key(a.name)[0]
        if sa != s.facts.caller_sa and a not in s.made:
            messages.append(
                "a service-account token can mint tokens only for itself (or for accounts "
                "of its teams)"
            )
    if a.kind in ("member", "service_account", "team") and act in (Action.CREATE, Action.UPDATE):
        missing = _not_held(s.want, caller_access(s.live, s.facts.caller_sa), s.made)
        if missing:
            messages.append(
                "a service-account token can grant only environments it holds itself; "
                f"it lacks {', '.join(missing[:3])}" + (" …" if len(missing) > 3 else "")
            )
    for message in messages:
        yield s.refuse("sa_caller", message + " (use an Owner or Admin PAT)")


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
