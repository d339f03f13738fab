"""compile: the ``phase:`` section -> desired Resources (pure).

Addresses: ``phase.role.<name>``, ``phase.app.<name>``, ``phase.environment.<app>/<env>``,
``phase.service_account.<name>``, ``phase.sa_token.<sa>/<token>``, ``phase.member.<email>``
(lower-cased), ``phase.team.<name>``.

Access grants are the ``access`` attribute of their member, service account or team
(``{app: [env, ...]}``), because the API replaces a principal's whole access set in one
request. For members and service accounts the attribute leaves out what their teams already
grant (see ``normalise.without``); the complete individual set is in ``meta["access"]``.

Every reference (role, app, environment, member, service account, team, token store) must name
something the spec declares or a default role; names must be ones the server accepts. Errors
are collected and raised together, each at its spec location.
"""

from __future__ import annotations

from collections.abc import Mapping

from reconciler.address import Address
from reconciler.errors import Location, SpecError, SpecErrors
from reconciler.model.resource import JSON, Resource
from reconciler.providers.base import CompileContext, Compiled
from reconciler.providers.phase import normalise as n
from reconciler.providers.phase.spec import (
    EnvironmentSpec,
    FileStore,
    PhaseSection,
    SecretStore,
    TokenSpec,
    duration_seconds,
)

NAME = "phase"
KINDS = ("role", "app", "environment", "service_account", "sa_token", "member", "team")
COLLECTIONS = {
    "roles": "role",
    "apps": "app",
    "environments": "environment",
    "service_accounts": "service_account",
    "tokens": "sa_token",
    "members": "member",
    "teams": "team",
}


def addr(kind: str, name: str) -> Address:
    return Address(NAME, kind, name)


def store_target(store: FileStore | SecretStore | Mapping[str, JSON] | None) -> str | None:
    """A short, non-secret description of where a token's secret is written."""
    if store is None:
        return None
    if isinstance(store, FileStore):
        return f"file:{store.file}"
    if isinstance(store, SecretStore):
        path = "/" + store.path.strip().strip("/")
        return f"secret:{store.app}/{store.environment}:{path.rstrip('/')}/{store.key.upper()}"
    if "file" in store:
        return f"file:{store['file']}"
    path = "/" + str(store.get("path") or "/").strip().strip("/")
    key = str(store["key"]).upper()
    return f"secret:{store['app']}/{store['environment']}:{path.rstrip('/')}/{key}"


def env_entry(entry: str | EnvironmentSpec) -> EnvironmentSpec:
    """An ``environments`` list entry as a mapping."""
    return entry if isinstance(entry, EnvironmentSpec) else EnvironmentSpec(name=entry)


class _Compiler:
    def __init__(self, section: PhaseSection, ctx: CompileContext) -> None:
        self.s = section
        self.ctx = ctx
        self.errors: list[SpecError] = []
        self.out: list[Resource] = []
        # role references resolve case-insensitively, to the canonical spelling
        self.roles: dict[str, str] = {r.lower(): r for r in n.DEFAULT_ROLES}
        self.roles.update({name.lower(): name for name in section.roles})
        self.envs = {
            app: [env_entry(e).name for e in spec.environments]
            for app, spec in section.apps.items()
        }
        self.members = {email.lower() for email in section.members}

    def where(self, *path: str | int) -> Location | None:
        return self.ctx.locate((NAME, *path))

    def error(self, message: str, *path: str | int) -> None:
        self.errors.append(SpecError(message, self.where(*path)))

    # references ------------------------------------------------------------------------

    def role(self, name: str | None, *path: str | int) -> tuple[str | None, set[Address]]:
        """Canonical role name and the dependency on a custom role."""
        if name is None:
            return None, set()
        canonical = self.roles.get(name.lower())
        if canonical is None:
            self.error(f"unknown role {name!r}", *path)
            return name, set()
        if canonical in n.DEFAULT_ROLES:
            return canonical, set()
        return canonical, {addr("role", canonical)}

    def access(self, grants: Mapping[str, list[str]], *path: str | int) -> set[Address]:
        deps: set[Address] = set()
        for app, envs in grants.items():
            if app not in self.s.apps:
                self.error(f"unknown app {app!r}", *path, app)
                continue
            deps.add(addr("app", app))
            if not envs:
                self.error(f"app {app!r}: list environments, or leave the app out", *path, app)
            for i, env in enumerate(envs):
                if env not in self.envs[app]:
                    self.error(f"unknown environment {env!r} of app {app!r}", *path, app, i)
                else:
                    deps.add(addr("environment", n.env_key(app, env)))
        return deps

    def name(self, name: str, what: str, *path: str | int) -> None:
        problem = n.name_problem(name, what)
        if problem:
            self.error(problem, *path)

    # collections -----------------------------------------------------------------------

    def compile(self) -> Compiled:
        coverage = self.coverage()
        self.compile_roles()
        self.compile_apps()
        owned = self.compile_service_accounts(coverage)
        self.compile_members(coverage)
        self.compile_teams(owned)
        prune, protect = self.policy()
        if self.errors:
            raise SpecErrors(self.errors)
        return Compiled(resources=self.out, prune=prune, protect=protect)

    def coverage(self) -> dict[str, dict[str, list[str]]]:
        """What each principal's teams grant: ``member:<email>`` / ``sa:<name>`` -> access."""
        out: dict[str, dict[str, list[str]]] = {}
        for team_name, team in self.s.teams.items():
            holders = [f"member:{e.lower()}" for e in team.members]
            holders += [f"sa:{s}" for s in team.service_accounts]
            holders += [
                f"sa:{s}" for s, spec in self.s.service_accounts.items() if spec.team == team_name
            ]
            for holder in holders:
                for app, envs in team.access.items():
                    out.setdefault(holder, {}).setdefault(app, []).extend(envs)
        return out

    def compile_roles(self) -> None:
        seen: dict[str, str] = {}
        for name, role in self.s.roles.items():
            where = ("roles", name)
            if n.default_role(name):
                self.error(f"{name!r} is a default role: it cannot be declared or changed", *where)
            elif name.lower() in seen:
                self.error(
                    f"role {name!r} differs from {seen[name.lower()]!r} only in case", *where
                )
            seen.setdefault(name.lower(), name)
            self.name(name, "role", *where)
            for key, mapping, valid in (
                ("permissions", role.permissions, n.ORG_PERMISSIONS),
                ("app_permissions", role.app_permissions, n.APP_PERMISSIONS),
            ):
                for cls, message in n.permission_problems(mapping, valid):
                    self.error(message, *where, key, cls)
            attrs: dict[str, JSON] = {
                "name": name,
                "description": n.text(role.description),
                "color": role.color,
                "permissions": n.permissions(role.permissions),
                "app_permissions": n.permissions(role.app_permissions),
            }
            self.out.append(Resource(addr("role", name), attrs, location=self.where(*where)))

    def compile_apps(self) -> None:
        for name, app in self.s.apps.items():
            where = ("apps", name)
            self.name(name, "app", *where)
            if "/" in name:
                self.error("app names must not contain '/'", *where)
            entries = [env_entry(e) for e in app.environments]
            if not entries:
                self.error("an app needs at least one environment", *where, "environments")
            meta: dict[str, JSON] = {"environments": [e.name for e in entries]}
            if app.previous_name:
                meta["previous_name"] = app.previous_name
            self.out.append(
                Resource(
                    addr("app", name),
                    {
                        "name": name,
                        "description": n.app_description(app.description),
                        "sse": app.sse,
                    },
                    id=app.id,
                    meta=meta,
                    location=self.where(*where),
                )
            )
            seen: set[str] = set()
            for i, env in enumerate(entries):
                ewhere = (*where, "environments", i)
                problem = n.env_name_problem(env.name)
                if problem:
                    self.error(problem, *ewhere)
                if env.name.lower() in seen:
                    self.error(
                        f"duplicate environment {env.name!r} (names are case-insensitive)",
                        *ewhere,
                    )
                seen.add(env.name.lower())
                env_meta: dict[str, JSON] = {"app": name, "index": i}
                if env.previous_name:
                    env_meta["previous_name"] = env.previous_name
                self.out.append(
                    Resource(
                        addr("environment", n.env_key(name, env.name)),
                        {"name": env.name},
                        depends_on=frozenset({addr("app", name)}),
                        id=env.id,
                        meta=env_meta,
                        location=self.where(*ewhere),
                    )
                )

    def compile_service_accounts(
        self, coverage: dict[str, dict[str, list[str]]]
    ) -> dict[str, list[str]]:
        """Service accounts and their tokens; returns team -> the accounts it owns."""
        owned: dict[str, list[str]] = {}
        for name, sa in self.s.service_accounts.items():
            where = ("service_accounts", name)
            self.name(name, "service account", *where)
            role, deps = self.role(sa.role, *where, "role")
            if n.is_global(role):
                self.error(
                    f"service accounts cannot hold the global-access role {role!r}", *where, "role"
                )
            deps |= self.access(sa.access, *where, "access")
            if sa.team is not None:
                if sa.team not in self.s.teams:
                    self.error(f"unknown team {sa.team!r}", *where, "team")
                deps.add(addr("team", sa.team))
                owned.setdefault(sa.team, []).append(name)
            self.out.append(
                Resource(
                    addr("service_account", name),
                    {
                        "name": name,
                        "role": role,
                        "team": sa.team,
                        "access": n.without(sa.access, coverage.get(f"sa:{name}", {})),
                    },
                    depends_on=frozenset(deps),
                    id=sa.id,
                    meta={
                        "access": n.access(sa.access),
                        # the token the server mints with the account (it never expires)
                        "initial_token": next(
                            (t for t, spec in sa.tokens.items() if spec.expires_in is None),
                            None,
                        ),
                    },
                    location=self.where(*where),
                )
            )
            for token_name, token in sa.tokens.items():
                self.compile_token(name, token_name, token, (*where, "tokens", token_name))
        return owned

    def compile_token(
        self, sa: str, name: str, token: TokenSpec, where: tuple[str | int, ...]
    ) -> None:
        self.name(name, "token", *where)
        if "/" in name:
            self.error("token names must not contain '/'", *where)
        deps = {addr("service_account", sa)}
        store: dict[str, JSON] | None = None
        if isinstance(token.store, FileStore):
            store = {"file": token.store.file}
        elif isinstance(token.store, SecretStore):
            s = token.store
            store = {"app": s.app, "environment": s.environment, "key": s.key, "path": s.path}
            deps |= self.access({s.app: [s.environment]}, *where, "store")
            if s.app in self.s.apps and not self.s.apps[s.app].sse:
                self.error(
                    f"app {s.app!r} is end-to-end encrypted: the API cannot write its secrets",
                    *where,
                    "store",
                    "app",
                )
            if not s.key.strip():
                self.error("store key must not be blank", *where, "store", "key")
        expires = duration_seconds(token.expires_in) if token.expires_in is not None else None
        rotate = duration_seconds(token.rotate_after) if token.rotate_after is not None else None
        self.out.append(
            Resource(
                addr("sa_token", n.env_key(sa, name)),
                {
                    "store": store_target(token.store),
                    "expires_in": n.minutes(expires),
                    "rotation": "current",
                },
                depends_on=frozenset(deps),
                meta={"store": store, "expires_in": expires, "rotate_after": rotate},
                location=self.where(*where),
            )
        )

    def compile_members(self, coverage: dict[str, dict[str, list[str]]]) -> None:
        for email, member in self.s.members.items():
            where = ("members", email)
            if not n.EMAIL.match(email):
                self.error(f"{email!r} is not an e-mail address", *where)
            role, deps = self.role(member.role, *where, "role")
            attrs: dict[str, JSON] = {"role": role}
            meta: dict[str, JSON] = {}
            if n.is_global(role):
                if member.access:
                    self.error(
                        f"{role} members have access to every app; remove 'access'",
                        *where,
                        "access",
                    )
            else:
                deps |= self.access(member.access, *where, "access")
                key = f"member:{email.lower()}"
                attrs["access"] = n.without(member.access, coverage.get(key, {}))
                meta["access"] = n.access(member.access)
            self.out.append(
                Resource(
                    addr("member", email.lower()),
                    attrs,
                    depends_on=frozenset(deps),
                    meta=meta,
                    location=self.where(*where),
                )
            )

    def compile_teams(self, owned: dict[str, list[str]]) -> None:
        for name, team in self.s.teams.items():
            where = ("teams", name)
            self.name(name, "team", *where)
            member_role, deps = self.role(team.member_role, *where, "member_role")
            sa_role, sa_deps = self.role(team.service_account_role, *where, "service_account_role")
            deps |= sa_deps | self.access(team.access, *where, "access")
            for i, email in enumerate(team.members):
                if email.lower() not in self.members:
                    self.error(f"unknown member {email!r}", *where, "members", i)
                deps.add(addr("member", email.lower()))
            mine = owned.get(name, [])
            for i, sa_name in enumerate(team.service_accounts):
                if sa_name not in self.s.service_accounts:
                    self.error(
                        f"unknown service account {sa_name!r}", *where, "service_accounts", i
                    )
                elif sa_name not in mine:
                    deps.add(addr("service_account", sa_name))
            self.out.append(
                Resource(
                    addr("team", name),
                    {
                        "name": name,
                        "description": n.text(team.description),
                        "member_role": member_role,
                        "service_account_role": sa_role,
                        "members": sorted({e.lower() for e in team.members}),
                        "service_accounts": sorted(set(team.service_accounts) | set(mine)),
                        "access": n.access(team.access),
                    },
                    depends_on=frozenset(deps),
                    id=team.id,
                    meta={"owned": sorted(mine)},
                    location=self.where(*where),
                )
            )

    def policy(self) -> tuple[frozenset[str], frozenset[Address]]:
        for i, coll in enumerate(self.s.prune):
            if coll not in COLLECTIONS:
                self.error(
                    f"unknown collection {coll!r} in prune (one of {', '.join(COLLECTIONS)})",
                    "prune",
                    i,
                )
        protect: set[Address] = set()
        for coll, names in self.s.protect.items():
            if coll not in COLLECTIONS:
                self.error(
                    f"unknown collection {coll!r} in protect (one of {', '.join(COLLECTIONS)})",
                    "protect",
                    coll,
                )
                continue
            protect |= {
                addr(COLLECTIONS[coll], x.lower() if coll == "members" else x) for x in names
            }
        prune = frozenset(COLLECTIONS[c] for c in self.s.prune if c in COLLECTIONS)
        return prune, frozenset(protect)


def compile_section(section: PhaseSection, ctx: CompileContext) -> Compiled:
    """Desired resources of the section (see the module docstring); raises ``SpecErrors``."""
    return _Compiler(section, ctx).compile()
