"""compile: the ``phase:`` section -> desired Resources (pure).

Addresses: ``phase.role.<name>``, ``phase.app.<name>``, ``phase.environment.<app>/<env>``,
``phase.service_account.<name>``, ``phase.sa_token.<sa>/<token>``, ``phase.member.<email>``
(lower-cased), ``phase.team.<name>``.

Access grants are the ``access`` attribute of their member, service account or team
(``{app: [env, ...]}``), because the API replaces a principal's whole access set in one
request. For members and service accounts the attribute leaves out what their teams already
grant (see ``normalise.without``); the complete individual set is in ``meta["access"]``.

Modules: ``names`` (addresses), ``compile_base`` (references, errors), ``compile_principals``
(service accounts, tokens, members, teams), this one (roles, apps, environments, policy).

Every reference (role, app, environment, member, service account, team, token store) must name
something the spec declares or a default role; names must be ones the server accepts. Errors
are collected and raised together, each at its spec location.
"""

from __future__ import annotations

from reconciler.address import Address
from reconciler.errors import SpecErrors
from reconciler.model.resource import JSON, Resource
from reconciler.providers.base import CompileContext, Compiled
from reconciler.providers.phase import normalise as n
from reconciler.providers.phase.compile_base import env_entry
from reconciler.providers.phase.compile_principals import PrincipalCompiler, store_target
from reconciler.providers.phase.names import COLLECTIONS, KINDS, NAME, addr
from reconciler.providers.phase.spec import PhaseSection

__all__ = [
    "COLLECTIONS",
    "KINDS",
    "NAME",
    "addr",
    "compile_section",
    "env_entry",
    "store_target",
]


class _Compiler(PrincipalCompiler):
    """One compilation of the section: roles, apps and environments, and the prune and
    protect policy here; principals in ``compile_principals.py``."""

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
            written = n.written(description=role.description)  # sent as written
            self.out.append(
                Resource(addr("role", name), attrs, meta=written, location=self.where(*where))
            )

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
            meta |= n.written(description=app.description)  # sent as written
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
