"""read: the live organisation as Resources, with the fewest requests the API allows.

Requests (contracts/phase.md §5), every list endpoint once:

* ``GET /secrets/tokens/``: who the caller is, and every environment it holds a key for, all
  apps in one answer (instead of one ``/v1/environments/?app_id=`` per app; used as a fallback
  when the server does not answer it);
* ``/v1/roles/`` (+ one detail per custom role: the list has no permissions), ``/v1/apps/``,
  ``/v1/service-accounts/`` (+ one detail per account: its access and tokens), ``/v1/members/``
  (+ one access view per member, Owner and Admin members too: they are never given access
  updates, but their views say which apps, E2EE ones above all, a demotion would revoke and who
  holds E2EE keys), ``/v1/members/invites/``, ``/v1/teams/`` (+ one detail per team: members and
  access).

Detail requests run in a small thread pool; the client's token bucket paces them all.

Naming, the way the server names things: member e-mails lower-cased, role and environment names
case-insensitive. A desired object pinned with ``id:`` is found by id; an app or environment
declared with ``previous_name`` is found under its old name (the diff then shows the rename).
Two live apps, service accounts or teams sharing a declared name are an error asking for an
``id:`` pin; undeclared duplicates get the address ``<name>#<first 8 characters of the id>``.

Access views mix individual and team keys (§7), so a member's or service account's ``access``
attribute leaves out what its teams grant (``normalise.without``), as the desired side does.
Grants on end-to-end encrypted apps are managed only with a console session (``e2ee``: the keys
are re-wrapped on this machine); without one they are kept apart in ``e2ee_access`` (never
diffed, but part of the object's fingerprint, so a saved plan goes stale when one appears). Apps
the token cannot see are always there, as ``?<id>``. With a console session each member and
service account also carries ``identity_key``, the fingerprint of its public identity key: a
saved plan that wraps keys for it goes stale when that key changes.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from reconciler.address import Address
from reconciler.crypto.keyring import key_fingerprint
from reconciler.errors import ProviderError
from reconciler.model.resource import JSON, Resource
from reconciler.model.state import State
from reconciler.providers.phase import normalise as n
from reconciler.providers.phase import payloads as p
from reconciler.providers.phase.client import PhaseClient
from reconciler.providers.phase.compile import NAME, addr
from reconciler.providers.phase.console import Identities
from reconciler.providers.phase.e2ee import HeldKey, held_keys
from reconciler.state.store import StateStore

T = TypeVar("T")
R = TypeVar("R")
WORKERS = 8


@dataclass
class Index:
    """Server ids and facts learnt from the last read, used to build requests and checks."""

    caller_kind: str = "user"  # "user" (PAT) or "service" (service-account token)
    caller_id: str = ""  # member id or service-account id
    caller_email: str | None = None
    caller_sa: str | None = None  # the caller's service-account label
    roles: dict[str, str] = field(default_factory=dict)  # name -> id (default roles too)
    global_roles: set[str] = field(default_factory=lambda: set(n.GLOBAL_ROLES))
    minting_roles: set[str] = field(default_factory=lambda: set(n.TOKEN_MINTING_ROLES))
    apps: dict[str, str] = field(default_factory=dict)  # label -> id
    app_sse: dict[str, bool] = field(default_factory=dict)
    envs: dict[str, str] = field(default_factory=dict)  # "app/env" -> id
    sas: dict[str, str] = field(default_factory=dict)
    members: dict[str, str] = field(default_factory=dict)  # email -> member id
    invites: dict[str, str] = field(default_factory=dict)  # email -> invite id
    teams: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)  # "sa/token" -> id
    keys_listed: bool = True  # False when /secrets/tokens/ was not available
    organisation: str | None = None
    held: dict[str, HeldKey] = field(default_factory=dict)  # "app/env" -> the caller's key row
    wrapped_key_share: str | None = None
    identities: Identities | None = None


def pool_map(fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
    """``[fn(x) for x in items]`` on a few threads (order kept; the first error is raised)."""
    if len(items) <= 1:
        return [fn(x) for x in items]
    with ThreadPoolExecutor(max_workers=min(WORKERS, len(items))) as pool:
        return list(pool.map(fn, items))


def label_objects(
    kind: str,
    live: Iterable[tuple[str, str]],
    wanted: Mapping[str, Resource],
    previous: Callable[[Resource], str | None] = lambda _r: None,
) -> dict[str, str]:
    """Address names for live objects given as ``(id, name)``: live id -> label.

    Desired objects claim live ones by ``id:`` pin, then by name, then by ``previous_name``;
    an ambiguous name is an error asking for a pin; the rest keep their name, or
    ``name#<id8>`` when it is taken or shared.
    """
    items = list(live)
    by_id = {i: name for i, name in items}
    out: dict[str, str] = {}
    for label, r in sorted(wanted.items()):
        if r.id is None:
            continue
        if r.id not in by_id:
            raise ProviderError(
                addr(kind, label),
                f"id {r.id!r} is not in the organisation (deleted?); remove the id: pin to "
                "create a new one",
            )
        out[r.id] = label
    for label, r in sorted(wanted.items()):
        if r.id is not None:
            continue
        for name in (label, previous(r)):
            if name is None:
                continue
            same = [i for i, x in items if x == name and i not in out]
            if len(same) > 1:
                raise ProviderError(
                    addr(kind, label),
                    f"{len(same)} live {kind.replace('_', ' ')}s are named {name!r} (ids "
                    f"{', '.join(sorted(same))}); add id: <one of them> to the spec, or rename "
                    "the others",
                )
            if same:
                out[same[0]] = label
                break
    taken = set(out.values())
    names = [x for i, x in items if i not in out]
    for i, name in items:
        if i in out:
            continue
        clash = name in taken or names.count(name) > 1
        out[i] = f"{name}#{i[:8]}" if clash else name
        taken.add(out[i])
    return out


class Reader:
    """One read of the organisation (see the module docstring)."""

    def __init__(
        self,
        client: PhaseClient,
        desired: State,
        store: StateStore | None,
        identities: Identities | None = None,
        e2ee: bool = False,
    ) -> None:
        self.client = client
        self.desired = desired
        self.store = store
        self.e2ee = e2ee  # E2EE grants are managed (diffed) rather than guarded
        self.idx = Index(identities=identities)  # identity keys (with a console session)
        self.out: list[Resource] = []
        self.app_label: dict[str, str] = {}  # app id -> label
        self.env_label: dict[str, str] = {}  # env id -> "app/env"
        self.unreadable: set[str] = set()  # ids of teams this token may not read
        self.now = datetime.datetime.now(datetime.UTC)

    def wanted(self, kind: str) -> dict[str, Resource]:
        return {r.address.name: r for r in self.desired.of_kind(NAME, kind)}

    def get(self, path: str, address: object = None, **kw: Any) -> Any:
        return self.client.request("GET", path, address=address, **kw)

    # -- the read ------------------------------------------------------------------------

    def read(self) -> tuple[State, Index]:
        keys = self.keys()
        self.roles()
        self.apps()
        self.environments(keys)
        sas = self.service_accounts()
        members = self.members()
        teams = self.teams()
        coverage = self.team_resources(teams)
        self.sa_resources(sas, teams, coverage)
        self.member_resources(members, coverage)
        self.invites()
        return State(self.out), self.idx

    def keys(self) -> p.KeysView | None:
        try:
            raw = self.client.request("GET", "/secrets/tokens/", address=NAME, root=True)
        except ProviderError as exc:
            if exc.status in (403, 404, 405):
                self.idx.keys_listed = False
                return None
            raise
        keys = p.parse(p.KeysView, raw, NAME, "GET /secrets/tokens/")
        self.idx.caller_kind = "user" if keys.user_id else "service"
        self.idx.caller_id = keys.user_id or keys.account_id or ""
        self.idx.organisation = keys.organisation.id if keys.organisation else None
        self.idx.wrapped_key_share = keys.wrapped_key_share
        return keys

    def roles(self) -> None:
        listed = p.parse_list(p.Role, self.get("/v1/roles/"), NAME, "GET /v1/roles/")
        wanted = {k.lower(): k for k in self.wanted("role")}
        custom = [r for r in listed if not r.is_default]
        details = pool_map(
            lambda r: p.parse(
                p.RoleDetail,
                self.get(f"/v1/roles/{r.id}/", address=addr("role", r.name)),
                addr("role", r.name),
                "GET /v1/roles/{id}/",
            ),
            custom,
        )
        for role in listed:
            self.idx.roles[role.name] = role.id
        for detail in details:
            perms = detail.permissions
            if perms.global_access:
                self.idx.global_roles.add(detail.name)
            if "create" in perms.permissions.get("ServiceAccountTokens", []):
                self.idx.minting_roles.add(detail.name)
            label = wanted.get(detail.name.lower(), detail.name)
            self.out.append(
                Resource(
                    addr("role", label),
                    {
                        "name": detail.name,
                        "description": n.text(detail.description),
                        "color": detail.color or "",
                        "permissions": n.permissions(perms.permissions),
                        "app_permissions": n.permissions(perms.app_permissions),
                    },
                    id=detail.id,
                    meta={"global_access": perms.global_access},
                )
            )

    def apps(self) -> None:
        listed = p.parse_list(p.App, self.get("/v1/apps/"), NAME, "GET /v1/apps/")
        wanted = self.wanted("app")
        labels = label_objects(
            "app",
            [(a.id, a.name) for a in sorted(listed, key=lambda a: a.created_at)],
            wanted,
            lambda r: _opt(r.meta.get("previous_name")),
        )
        for app in listed:
            label = labels[app.id]
            self.app_label[app.id] = label
            self.idx.apps[label] = app.id
            self.idx.app_sse[label] = app.sse_enabled
            self.out.append(
                Resource(
                    addr("app", label),
                    {
                        "name": app.name,
                        "description": n.app_description(app.description),
                        "sse": app.sse_enabled,
                    },
                    id=app.id,
                )
            )

    def environments(self, keys: p.KeysView | None) -> None:
        per_app: dict[str, list[p.KeyEnvironment]] = {}
        held = held_keys(keys) if keys is not None else {}  # env id -> the caller's key row
        if keys is not None:
            for entry in keys.apps:
                if entry.id in self.app_label:
                    per_app[entry.id] = [k.environment for k in entry.environment_keys]
        else:
            sse = [i for i, label in self.app_label.items() if self.idx.app_sse[label]]
            listed = pool_map(
                lambda app_id: p.parse_list(
                    p.Environment,
                    self.get("/v1/environments/", params={"app_id": app_id}),
                    addr("app", self.app_label[app_id]),
                    "GET /v1/environments/",
                ),
                sse,
            )
            for app_id, envs in zip(sse, listed, strict=True):
                per_app[app_id] = [
                    p.KeyEnvironment(id=e.id, name=e.name, env_type=e.env_type, index=e.index)
                    for e in envs
                ]
        wanted_all = self.wanted("environment")
        for app_id, label in sorted(self.app_label.items(), key=lambda x: x[1]):
            wanted = {
                n.split_key(k)[1]: r for k, r in wanted_all.items() if n.split_key(k)[0] == label
            }
            if app_id not in per_app:
                # An app whose environments this token cannot list (it holds none of their
                # keys): the declared ones are assumed, pending, so nothing is tried on them.
                for env_name, r in wanted.items():
                    self.out.append(
                        Resource(
                            addr("environment", n.env_key(label, env_name)),
                            dict(r.attributes),
                            depends_on=frozenset({addr("app", label)}),
                            pending="this token holds no key for the app's environments, so "
                            "it cannot list them",
                        )
                    )
                continue
            listed_envs = sorted(per_app[app_id], key=lambda e: (e.index, e.name))
            labels = _env_labels(listed_envs, wanted)
            for env in listed_envs:
                key = n.env_key(label, labels[env.id])
                self.env_label[env.id] = key
                self.idx.envs[key] = env.id
                if env.id in held:
                    self.idx.held[key] = held[env.id]
                self.out.append(
                    Resource(
                        addr("environment", key),
                        {"name": env.name},
                        depends_on=frozenset({addr("app", label)}),
                        id=env.id,
                        meta={"app": label, "index": env.index, "env_type": env.env_type},
                    )
                )

    def access_of(
        self, apps: Sequence[p.AccessApp]
    ) -> tuple[dict[str, JSON], list[str], list[str]]:
        """``(access, guarded apps, listed apps)`` from an access view. Guarded: apps the caller
        cannot see (it would revoke them with an access update), as ``?<id>``, and E2EE apps
        unless they are managed (``e2ee``). Listed: the labels of the apps in the view (the
        principal's individual app list)."""
        grants: dict[str, list[str]] = {}
        guarded: list[str] = []
        listed: list[str] = []
        for app in apps:
            label = self.app_label.get(app.id)
            if label is None:
                guarded.append(f"?{app.id}")
                continue
            listed.append(label)
            if not self.idx.app_sse.get(label, True) and not self.e2ee:
                guarded.append(label)
                continue
            for env in app.environments:
                key = self.env_label.get(env.id)
                if key is not None:
                    grants.setdefault(label, []).append(n.split_key(key)[1])
        return n.access(grants), sorted(guarded), sorted(listed)

    def identity_attrs(self, kind: str, principal_id: str) -> dict[str, JSON]:
        """``{"identity_key": fingerprint or None}`` with a console session, else nothing."""
        ids = self.idx.identities
        if ids is None:
            return {}
        key = ids.of(kind, principal_id)
        return {"identity_key": key_fingerprint(key) if key else None}

    def deps_of(self, grants: Mapping[str, JSON]) -> set[Address]:
        deps: set[Address] = set()
        for app, envs in grants.items():
            deps.add(addr("app", app))
            for env in _strings(envs):
                deps.add(addr("environment", n.env_key(app, env)))
        return deps

    def role_dep(self, name: str | None) -> set[Address]:
        if name is None or name in n.DEFAULT_ROLES:
            return set()
        return {addr("role", name)}

    # service accounts ------------------------------------------------------------------

    def service_accounts(self) -> list[tuple[str, p.ServiceAccountDetail]]:
        listed = p.parse_list(
            p.ServiceAccount, self.get("/v1/service-accounts/"), NAME, "GET /v1/service-accounts/"
        )
        labels = label_objects(
            "service_account",
            [(s.id, s.name) for s in sorted(listed, key=lambda s: s.created_at)],
            self.wanted("service_account"),
        )
        details = pool_map(
            lambda s: p.parse(
                p.ServiceAccountDetail,
                self.get(
                    f"/v1/service-accounts/{s.id}/", address=addr("service_account", labels[s.id])
                ),
                addr("service_account", labels[s.id]),
                "GET /v1/service-accounts/{id}/",
            ),
            listed,
        )
        out = []
        for detail in details:
            label = labels[detail.id]
            self.idx.sas[label] = detail.id
            if detail.id == self.idx.caller_id:
                self.idx.caller_sa = label
            out.append((label, detail))
            self.tokens(label, detail)
        return out

    def tokens(self, sa: str, detail: p.ServiceAccountDetail) -> None:
        wanted = self.wanted("sa_token")
        groups: dict[str, list[p.TokenInfo]] = {}
        for token in detail.tokens:
            groups.setdefault(token.name.replace("/", "_"), []).append(token)
        for name, tokens in sorted(groups.items()):
            key = n.env_key(sa, name)
            address = addr("sa_token", key)
            stored = self.record(address, "stored")
            stored_id = stored.get("id") if isinstance(stored, Mapping) else None
            newest = sorted(tokens, key=lambda t: t.created_at, reverse=True)
            main = next((t for t in newest if t.id == stored_id), newest[0])
            for token in newest:
                label = key if token is main else f"{key}#{token.id[:8]}"
                self.idx.tokens[label] = token.id
                desired = wanted.get(label)
                self.out.append(
                    Resource(
                        addr("sa_token", label),
                        self.token_attributes(address, token, desired, stored),
                        depends_on=frozenset({addr("service_account", sa)}),
                        id=token.id,
                        meta={
                            "created_at": token.created_at.isoformat(),
                            "expires_at": token.expires_at.isoformat()
                            if token.expires_at
                            else None,
                        },
                    )
                )

    def token_attributes(
        self, address: Address, token: p.TokenInfo, desired: Resource | None, stored: JSON
    ) -> dict[str, JSON]:
        """``store``: where this token's secret was written, from the state store. ``None``
        when the store remembers another token as stored, or a run that minted it stopped
        before storing it: it is minted again and stored. A token the store knows nothing
        about (adopted) is assumed to be stored where the spec says. ``rotation``: ``due`` once
        it is older than ``rotate_after`` or expired."""
        expired = token.expires_at is not None and n.instant(token.expires_at) <= self.now
        rotate = desired.meta.get("rotate_after") if desired is not None else None
        age = self.now - n.instant(token.created_at)
        due = expired or (isinstance(rotate, int) and age.total_seconds() >= rotate)
        target: JSON = None
        if isinstance(stored, Mapping):
            # the state store knows which token was stored: this one, or another one
            target = stored.get("target") if stored.get("id") == token.id else None
        elif not self.record(address, "minting") and desired is not None:
            target = desired.attributes.get("store")
        return {
            "store": target,
            "expires_in": n.lifetime(token.created_at, token.expires_at),
            "rotation": "due" if due else "current",
        }

    def record(self, address: Address, key: str) -> JSON:
        return self.store.get_record(address, key) if self.store is not None else None

    def sa_resources(
        self,
        sas: list[tuple[str, p.ServiceAccountDetail]],
        teams: list[tuple[str, p.TeamDetail]],
        coverage: Mapping[str, Mapping[str, list[str]]],
    ) -> None:
        in_team: dict[str, set[str]] = {}
        for team_label, detail in teams:
            for m in detail.members:
                if m.type == "service_account":
                    in_team.setdefault(m.id, set()).add(team_label)
        wanted = self.wanted("service_account")
        for label, sa in sas:
            address = addr("service_account", label)
            owner_team: str | None = None
            role = sa.role.name if sa.role else None
            grants, guarded, listed = self.access_of(sa.apps)
            owner = self.record(address, "team")
            if isinstance(owner, Mapping) and owner.get("id") == sa.id:
                owner_team = _opt(owner.get("team"))
            else:
                declared = wanted[label].attributes.get("team") if label in wanted else None
                if isinstance(declared, str) and declared in in_team.get(sa.id, set()):
                    owner_team = declared
            self.out.append(
                Resource(
                    address,
                    {
                        "name": sa.name,
                        "role": role,
                        "team": owner_team,
                        "access": n.without(_grants(grants), coverage.get(sa.id, {})),
                        "e2ee_access": list(guarded),
                        **self.identity_attrs("service", sa.id),
                    },
                    depends_on=frozenset(self.deps_of(grants) | self.role_dep(role)),
                    id=sa.id,
                    meta={"access": grants, "apps": list(listed)},
                )
            )

    # members and invites ---------------------------------------------------------------

    def members(self) -> list[tuple[p.Member, p.MemberAccess | None]]:
        listed = p.parse_list(p.Member, self.get("/v1/members/"), NAME, "GET /v1/members/")
        for member in listed:
            email = member.email.lower()
            self.idx.members[email] = member.id
            if member.id == self.idx.caller_id:
                self.idx.caller_email = email
        views = pool_map(
            lambda m: p.parse(
                p.MemberAccess,
                self.get(f"/v1/members/{m.id}/access/", address=addr("member", m.email.lower())),
                addr("member", m.email.lower()),
                "GET /v1/members/{id}/access/",
            ),
            listed,
        )
        by_id = {v.id: v for v in views}
        return [(m, by_id.get(m.id)) for m in listed]

    def member_resources(
        self,
        members: list[tuple[p.Member, p.MemberAccess | None]],
        coverage: Mapping[str, Mapping[str, list[str]]],
    ) -> None:
        for member, view in members:
            email = member.email.lower()
            role = member.role.name if member.role else None
            attrs: dict[str, JSON] = {"role": role, **self.identity_attrs("user", member.id)}
            deps = self.role_dep(role)
            meta: dict[str, JSON] = {}
            if view is not None:
                grants, guarded, listed = self.access_of(view.apps)
                attrs["access"] = n.without(_grants(grants), coverage.get(member.id, {}))
                attrs["e2ee_access"] = list(guarded)
                deps |= self.deps_of(grants)
                meta["access"] = grants
                meta["apps"] = list(listed)
            pending = None
            ids = self.idx.identities
            if ids is not None and not ids.members.get(member.id, "-"):
                pending = (
                    "has not set up their keys yet (first login): their access is granted after it"
                )
            self.out.append(
                Resource(
                    addr("member", email),
                    attrs,
                    depends_on=frozenset(deps),
                    id=member.id,
                    pending=pending,
                    meta=meta,
                )
            )

    def invites(self) -> None:
        listed = p.parse_list(
            p.Invite, self.get("/v1/members/invites/"), NAME, "GET /v1/members/invites/"
        )
        for invite in sorted(listed, key=lambda i: i.created_at, reverse=True):
            email = invite.invitee_email.lower()
            if email in self.idx.members or email in self.idx.invites:
                continue
            self.idx.invites[email] = invite.id
            role = invite.role.name if invite.role else None
            self.out.append(
                Resource(
                    addr("member", email),
                    {"role": role, "access": {}},
                    depends_on=frozenset(self.role_dep(role)),
                    id=invite.id,
                    pending=f"invited {invite.created_at.date().isoformat()}, not accepted yet",
                    meta={"invite": True},
                )
            )

    # teams -----------------------------------------------------------------------------

    def teams(self) -> list[tuple[str, p.TeamDetail]]:
        """Every team with its detail; a team this token may not read (a non-global caller
        outside it) gets an empty detail and is marked unreadable."""
        listed = p.parse_list(p.Team, self.get("/v1/teams/"), NAME, "GET /v1/teams/")
        labels = label_objects("team", [(t.id, t.name) for t in listed], self.wanted("team"))

        def detail(team: p.Team) -> p.TeamDetail:
            address = addr("team", labels[team.id])
            try:
                raw = self.get(f"/v1/teams/{team.id}/", address=address)
            except ProviderError as exc:
                if exc.status != 403:
                    raise
                self.unreadable.add(team.id)
                return p.TeamDetail.model_validate(team.model_dump())
            return p.parse(p.TeamDetail, raw, address, "GET /v1/teams/{id}/")

        out = []
        for found in pool_map(detail, listed):
            label = labels[found.id]
            self.idx.teams[label] = found.id
            out.append((label, found))
        return out

    def team_resources(
        self, teams: list[tuple[str, p.TeamDetail]]
    ) -> dict[str, dict[str, list[str]]]:
        """Team resources; returns principal id -> what its teams grant."""
        wanted = self.wanted("team")
        sa_label = {v: k for k, v in self.idx.sas.items()}
        member_email = {v: k for k, v in self.idx.members.items()}
        coverage: dict[str, dict[str, list[str]]] = {}
        for label, team in teams:
            want = wanted.get(label)
            want_members = set(_strings(want.attributes.get("members"))) if want else set()
            want_sas = set(_strings(want.attributes.get("service_accounts"))) if want else set()
            members, sas = [], []
            for m in team.members:
                if m.type == "user":
                    email = member_email.get(m.id, (m.email or m.id).lower())
                    # The caller joins every team it creates; it is shown only when declared.
                    if m.id != self.idx.caller_id or email in want_members:
                        members.append(email)
                else:
                    name = sa_label.get(m.id, m.name or m.id)
                    if m.id != self.idx.caller_id or name in want_sas:
                        sas.append(name)
            grants, _guarded, _listed = self.access_of(team.apps)
            for m in team.members:
                held = coverage.setdefault(m.id, {})
                for app, envs in grants.items():
                    held.setdefault(app, []).extend(_strings(envs))
            member_role = team.member_role.name if team.member_role else None
            sa_role = team.service_account_role.name if team.service_account_role else None
            deps = self.deps_of(grants) | self.role_dep(member_role) | self.role_dep(sa_role)
            deps |= {addr("member", e) for e in members}
            deps |= {addr("service_account", s) for s in sas}
            self.out.append(
                Resource(
                    addr("team", label),
                    {
                        "name": team.name,
                        "description": n.text(team.description),
                        "member_role": member_role,
                        "service_account_role": sa_role,
                        "members": sorted(set(members)),
                        "service_accounts": sorted(set(sas)),
                        "access": grants,
                    },
                    depends_on=frozenset(deps),
                    id=team.id,
                    pending="this token is outside the team and cannot read its members or access"
                    if team.id in self.unreadable
                    else None,
                    meta={"scim": team.is_scim_managed},
                )
            )
        return coverage


def _env_labels(envs: Sequence[p.KeyEnvironment], wanted: Mapping[str, Resource]) -> dict[str, str]:
    """Labels of one app's live environments: by ``id:`` pin, then name (case-insensitive),
    then ``previous_name``; the rest keep their live name (or ``name#<id8>`` on a clash)."""
    out: dict[str, str] = {}
    ids = {e.id for e in envs}
    for label, r in sorted(wanted.items()):
        if r.id is not None:
            if r.id not in ids:
                raise ProviderError(
                    r.address,
                    f"id {r.id!r} is not an environment of this app (deleted?); remove the "
                    "id: pin to create a new one",
                )
            out[r.id] = label
    lower = {e.name.lower(): e.id for e in envs}
    for label, r in sorted(wanted.items()):
        if r.id is not None or label in out.values():
            continue
        for name in (label, _opt(r.meta.get("previous_name"))):
            if name is None:
                continue
            found = lower.get(name.lower())
            if found is not None and found not in out:
                out[found] = label
                break
    taken = {v.lower() for v in out.values()}
    for env in envs:
        if env.id not in out:
            clash = env.name.lower() in taken
            out[env.id] = f"{env.name}#{env.id[:8]}" if clash else env.name
            taken.add(out[env.id].lower())
    return out


def _opt(value: JSON | None) -> str | None:
    return None if value is None else str(value)


def _strings(value: JSON | None) -> list[str]:
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return []


def _grants(value: Mapping[str, JSON]) -> dict[str, list[str]]:
    return {str(k): _strings(v) for k, v in value.items()}


def read_live(
    client: PhaseClient,
    desired: State,
    store: StateStore | None = None,
    identities: Identities | None = None,
    e2ee: bool = False,
) -> tuple[State, Index]:
    """The live organisation (see the module docstring) and the id index."""
    return Reader(client, desired, store, identities, e2ee).read()
