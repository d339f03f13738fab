"""Effective access in Phase (``plan.access``): derived purely from states already read, and the
revocations apply records for key custody.

Paths (docs/phase-api.md#roles-and-permission-checks, #team-and-individual-access): a
global-access role reaches every environment (``role Admin (global)``); a member's or service
account's own grants (``direct``, the ``access`` attribute, which leaves out what teams grant);
each team the principal is in (``team backend``, with the team's ``member_role`` /
``service_account_role`` when set, else the principal's role). On an end-to-end encrypted app
access means an environment key wrapped for the principal (``E2EE key held``); on an SSE app the
server also decrypts (``SSE: server decrypts``). The right is the role's: ``admin`` for global
roles and roles that manage app members, ``write`` for roles that change secrets, ``read`` for
roles that only read them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from reconciler.model.resource import JSON, Resource
from reconciler.model.state import State
from reconciler.plan.access import E2EE_HELD, SSE, AccessView, Credential, Grant, Principal
from reconciler.plan.change import Action, Change
from reconciler.providers.phase import normalise as n
from reconciler.providers.phase.actions.context import Work
from reconciler.providers.phase.compile import NAME, addr
from reconciler.providers.phase.rules.facts import facts_of

# Default roles' effective permissions come from the server's code, not from the API
# (docs/phase-api.md#roles-and-permission-checks): Manager manages app members, Developer and
# Service change secrets.
_DEFAULT_RIGHTS = {"Owner": "admin", "Admin": "admin", "Manager": "admin", "Developer": "write"}
_DEFAULT_RIGHTS["Service"] = "write"
_CHANGES = {"create", "update", "delete"}


def _role_right(role: Resource | None, name: str | None, global_roles: frozenset[str]) -> str:
    if name is None:
        return "read"
    if name in global_roles:
        return "admin"
    default = n.default_role(name)
    if default is not None:
        return _DEFAULT_RIGHTS[default]
    if role is None:
        return "read"
    if role.meta.get("global_access") is True:
        return "admin"
    perms = role.attributes.get("app_permissions")
    perms = perms if isinstance(perms, Mapping) else {}

    def has(resource: str, actions: set[str]) -> bool:
        found = perms.get(resource)
        return isinstance(found, list) and bool(actions & {str(x) for x in found})

    if has("Members", _CHANGES):
        return "admin"
    return "write" if has("Secrets", _CHANGES) else "read"


class _Derivation:
    """The grants one state gives (live or desired: the same derivation on both sides)."""

    def __init__(
        self, state: State, roles: Mapping[str, Resource], global_roles: frozenset[str]
    ) -> None:
        self.state, self.roles, self.global_roles = state, roles, global_roles
        self.sse = {
            r.address.name: r.attributes.get("sse") is not False for r in state.of_kind(NAME, "app")
        }
        self.role_of: dict[str, str | None] = {}  # principal address -> its organisation role

    def right(self, role: str | None) -> str:
        return _role_right(self.roles.get(role or ""), role, self.global_roles)

    def grant(self, who: str, env: str, right: str, path: str) -> Grant:
        key = SSE if self.sse.get(env.split("/", 1)[0], True) else E2EE_HELD
        return Grant(who, str(addr("environment", env)), right, path, key)

    def over(self, who: str, access: JSON, right: str, path: str) -> list[Grant]:
        """A grant per environment of an ``{app: [environments]}`` access map."""
        return [
            self.grant(who, f"{app}/{env}", right, path)
            for app, names in (access.items() if isinstance(access, Mapping) else ())
            for env in (names if isinstance(names, list) else ())
        ]

    def principals(self) -> list[Grant]:
        """Global roles reach every environment; otherwise a principal's own grants."""
        envs = [r.address.name for r in self.state.of_kind(NAME, "environment")]
        out: list[Grant] = []
        for kind in ("member", "service_account"):
            for r in self.state.of_kind(NAME, kind):
                who, role = str(r.address), r.attributes.get("role")
                role = role if isinstance(role, str) else None
                self.role_of[who] = role
                if r.meta.get("invite"):
                    continue
                if n.is_global(role, self.global_roles):
                    out += [self.grant(who, e, "admin", f"role {role} (global)") for e in envs]
                else:
                    out += self.over(who, r.attributes.get("access"), self.right(role), "direct")
        return out

    def teams(self) -> list[Grant]:
        """Each team's own row (its scope, at its member role; else members keep their own
        roles: ``read``), and its scope for each member at the team's role override or their
        own role. Run after ``principals`` (it knows their roles)."""
        out: list[Grant] = []
        for team in self.state.of_kind(NAME, "team"):
            a = team.attributes
            role = a.get("member_role")
            own = self.right(role) if isinstance(role, str) else "read"
            out += self.over(str(team.address), a.get("access"), own, "team scope")
            for kind, field, override in (
                ("member", "members", a.get("member_role")),
                ("service_account", "service_accounts", a.get("service_account_role")),
            ):
                listed = a.get(field)
                for name in listed if isinstance(listed, list) else ():
                    who = str(addr(kind, str(name)))
                    if who in self.role_of:
                        role = override if isinstance(override, str) else self.role_of[who]
                        path = f"team {team.address.name}"
                        out += self.over(who, a.get("access"), self.right(role), path)
        return out


def _grants(
    state: State, roles: Mapping[str, Resource], global_roles: frozenset[str]
) -> list[Grant]:
    """Every grant ``state`` gives (live or desired: the same derivation on both sides)."""
    derivation = _Derivation(state, roles, global_roles)
    return derivation.principals() + derivation.teams()


def access(desired: State, live: State) -> AccessView:
    """Phase's ``AccessView``: live and intended grants, environments, principals (pending
    invites and members without keys), E2EE environments with their ids, and service-account
    tokens (age, expiry, ``rotate_after`` from the spec)."""
    facts = facts_of(live)
    global_roles = frozenset(facts.global_roles)
    live_roles = {r.address.name: r for r in live.of_kind(NAME, "role")}
    want_roles = {**live_roles, **{r.address.name: r for r in desired.of_kind(NAME, "role")}}
    principals = [
        Principal(str(r.address), r.address.kind, r.pending)
        for kind in ("member", "service_account", "team")
        for state in (live, desired)
        for r in state.of_kind(NAME, kind)
        if state is live or r.address not in live
    ]
    resources = dict.fromkeys(
        str(r.address) for state in (live, desired) for r in state.of_kind(NAME, "environment")
    )
    sse = {r.address.name: r.attributes.get("sse") is not False for r in live.of_kind(NAME, "app")}
    e2ee = {
        str(r.address): r.id
        for r in live.of_kind(NAME, "environment")
        if not sse.get(r.address.name.split("/", 1)[0], True)
    }
    rotate = {r.address.name: r.meta.get("rotate_after") for r in desired.of_kind(NAME, "sa_token")}
    tokens = []
    for t in live.of_kind(NAME, "sa_token"):
        after = rotate.get(t.address.name)
        created, expires = t.meta.get("created_at"), t.meta.get("expires_at")
        tokens.append(
            Credential(
                str(t.address),
                str(addr("service_account", t.address.name.split("/", 1)[0])),
                created if isinstance(created, str) else None,
                expires if isinstance(expires, str) else None,
                after if isinstance(after, int) else None,
            )
        )
    unread = sorted(a for a, server in sse.items() if not server) if not facts.e2ee else []
    notes = (
        f"Phase: grants on the end-to-end encrypted apps {', '.join(unread)} are read with the "
        "console login (connection email/password); without it their cells and key custody "
        "show the global-access members only",
    )
    return AccessView(
        notes=notes if unread else (),
        grants=tuple(_grants(live, live_roles, global_roles)),
        intended=tuple(_grants(desired, want_roles, global_roles)),
        resources=tuple(sorted(resources)),
        principals=tuple(principals),
        e2ee=e2ee,
        credentials=tuple(tokens),
    )


# -- apply side: revocations of E2EE access, kept for key custody --------------------------------


def _envs(access: JSON) -> set[str]:
    if not isinstance(access, Mapping):
        return set()
    return {f"{app}/{e}" for app, names in access.items() if isinstance(names, list) for e in names}


def _names(value: JSON) -> set[str]:
    return {str(x) for x in value} if isinstance(value, list) else set()


def revoked(change: Change) -> list[tuple[str, str]]:
    """(principal address, ``app/env``) pairs whose access ``change`` removes: a principal's own
    grants or the principal itself going, a team's grants or members going (the principal may
    keep access another way; the report checks who holds a key when it is made)."""
    live, want = change.live, change.desired
    if live is None or change.action not in (Action.UPDATE, Action.DELETE):
        return []
    kind = change.address.kind
    if kind in ("member", "service_account"):
        before = _envs(live.meta.get("access") or live.attributes.get("access"))
        after: set[str] = set()
        if want is not None:
            if "access" not in want.meta and "access" not in want.attributes:
                return []
            after = _envs(want.meta.get("access") or want.attributes.get("access"))
        return [(str(change.address), e) for e in sorted(before - after)]
    if kind == "team":
        team_before = _envs(live.attributes.get("access"))
        out: set[tuple[str, str]] = set()
        for field, pkind in (("members", "member"), ("service_accounts", "service_account")):
            was = _names(live.attributes.get(field))
            now, team_after = set(was), team_before
            if want is None:
                now, team_after = set(), set()
            else:
                if field in want.attributes:
                    now = _names(want.attributes.get(field))
                if "access" in want.attributes:
                    team_after = _envs(want.attributes.get("access"))
            for who in was:
                lost = team_before if who not in now else team_before - team_after
                out |= {(str(addr(pkind, who)), e) for e in lost}
        return sorted(out)
    return []


def record_revocations(change: Change, work: Work) -> None:
    """Keep, on each end-to-end encrypted environment ``change`` revoked access to, who lost it,
    when (UTC) and the environment's id (a recreated environment has a new key): the report's
    revocation debt. Called after the change succeeded; nothing without a state store."""
    if work.store is None:
        return
    pairs = revoked(change)
    if not pairs:
        return
    e2ee = work.live_e2ee()
    at = datetime.now(UTC).isoformat(timespec="seconds")
    for who, env in pairs:
        if env.split("/", 1)[0] not in e2ee:
            continue
        address = addr("environment", env)
        with work.lock:  # changes apply in parallel: one read-modify-write at a time
            kept = work.store.get_record(address, "revocations")
            rows: list[JSON] = list(kept) if isinstance(kept, list) else []
            rows.append({"principal": who, "at": at, "id": work.index.envs.get(env)})
            work.store.set_record(address, "revocations", rows)
