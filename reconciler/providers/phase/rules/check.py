"""check: the Phase safety rules (pure), as per-kind rule lists.

Owner and self protection (the owner is never changed or removed, nobody is given the Owner
role, the applying principal never changes itself), console-made global-access roles, SCIM
teams, the immutable owning team of a service account, roles still held by unmanaged
principals (the server refuses their delete), E2EE hazards (``check_e2ee.py``) and, with a
service-account token, what such a token cannot do (``caller.py``;
docs/phase-api.md#what-a-service-account-token-cannot-do).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from reconciler.address import Address
from reconciler.model.state import State
from reconciler.plan.change import Action, Change
from reconciler.plan.plan import Violation
from reconciler.providers.phase import normalise as n
from reconciler.providers.phase.compile import addr
from reconciler.providers.phase.rules import check_e2ee as e
from reconciler.providers.phase.rules.caller import service_token_rules
from reconciler.providers.phase.rules.common import Subject, e2ee_apps, opt
from reconciler.providers.phase.rules.facts import facts_of

Rule = Callable[[Subject], Iterable[Violation]]


def check(changes: Sequence[Change], desired: State, live: State) -> list[Violation]:
    """Every violation of the plan's changes, in change order, then the plan-wide ones."""
    facts = facts_of(live)
    e2ee = e2ee_apps(desired, live, facts)
    # environments this plan creates: their creator holds their keys
    created: set[Address | str] = {
        c.address.name
        for c in changes
        if c.address.kind == "environment" and c.action is Action.CREATE
    }
    # tokens the server mints with a service account created by this plan
    initial: set[Address | str] = set()
    for c in changes:
        if c.address.kind == "service_account" and c.action is Action.CREATE:
            token = opt(c.resource.meta.get("initial_token"))
            if token is not None:
                initial.add(addr("sa_token", n.env_key(c.address.name, token)))
    out: list[Violation] = []
    for change in changes:
        diffs = {d.path.split(".")[0] for d in change.diffs}
        subject = Subject(change, facts, live, e2ee, initial | created, diffs)
        for rule in RULES.get(change.address.kind, ()):
            out.extend(rule(subject))
        if facts.token_kind == "service":
            out.extend(service_token_rules(subject))
    out.extend(roles_in_use(changes, live))
    if facts.e2ee:
        out.extend(e.e2ee_violations(changes, live, e2ee, created, facts))
    return out


def roles_in_use(changes: Sequence[Change], live: State) -> list[Violation]:
    """A role delete the server would refuse (409): a live principal keeps the role and no
    change of this plan moves it away."""
    gone = {
        c.address.name for c in changes if c.address.kind == "role" and c.action is Action.DELETE
    }
    if not gone:
        return []
    moving = {c.address for c in changes if c.action in (Action.UPDATE, Action.DELETE)}
    out = []
    for r in live.resources():
        if r.address.kind not in ("member", "service_account") or r.address in moving:
            continue
        role = opt(r.attributes.get("role"))
        if role in gone:
            out.append(
                Violation(
                    "in_use",
                    (addr("role", role), r.address),
                    f"role {role!r} is still held by {r.address}, which the spec does not "
                    "manage; give it another role first",
                )
            )
    return out


def _changes_itself(s: Subject) -> bool:
    act = s.change.action
    return act is Action.DELETE or (act is Action.UPDATE and bool(s.diffs))


def owner_and_self(s: Subject) -> Iterable[Violation]:
    """The owner is never changed or removed, the Owner role never given, and the applying
    member never changes itself."""
    act = s.change.action
    if s.have.get("role") == "Owner" and act in (Action.UPDATE, Action.DELETE):
        if act is Action.DELETE or s.diffs:
            yield s.refuse("owner", "the organisation owner is never changed or removed")
    elif s.want.get("role") == "Owner" and act in (Action.CREATE, Action.UPDATE):
        yield s.refuse(
            "owner", "the Owner role cannot be given (ownership is transferred in the console)"
        )
    if s.change.address.name == s.facts.caller_email and _changes_itself(s):
        yield s.refuse(
            "self", "the applying principal never changes its own role, access or membership"
        )


def service_account_self(s: Subject) -> Iterable[Violation]:
    if s.change.address.name == s.facts.caller_sa and _changes_itself(s):
        yield s.refuse(
            "self",
            "the applying service account never changes its own role, access or existence",
        )


def owning_team(s: Subject) -> Iterable[Violation]:
    if s.change.action is Action.UPDATE and "team" in s.diffs:
        yield s.refuse(
            "immutable",
            "the owning team of a service account cannot be changed; declare the live "
            "team, or create a new service account under another name",
        )


def scim_team(s: Subject) -> Iterable[Violation]:
    live = s.change.live
    if s.change.action not in (Action.UPDATE, Action.DELETE) or live is None:
        return
    if live.meta.get("scim") and s.diffs & {"members", "description", "member_role"}:
        yield s.refuse(
            "scim",
            "this team is managed by SCIM: its members and settings change in the identity "
            "provider",
        )


def console_role(s: Subject) -> Iterable[Violation]:
    live = s.change.live
    if s.change.action is Action.UPDATE and live is not None and live.meta.get("global_access"):
        yield s.refuse(
            "global_role",
            "this role was made in the console with global access; an update through the "
            "API replaces its permissions and drops global access. Change it in the console",
        )


# The rules of each kind, in the order their violations are listed.
RULES: dict[str, tuple[Rule, ...]] = {
    "app": (e.app_rules,),
    "environment": (e.environment_rules,),
    "member": (e.e2ee_grants, e.access_update_hazard, owner_and_self),
    "service_account": (
        e.e2ee_grants,
        e.access_update_hazard,
        service_account_self,
        owning_team,
    ),
    "team": (e.e2ee_grants, scim_team),
    "role": (console_role,),
}
