"""compile: the ``phase:`` section -> desired Resources (pure).

Addresses: ``phase.role.<name>``, ``phase.app.<name>``, ``phase.environment.<app>/<env>``,
``phase.service_account.<name>``, ``phase.sa_token.<sa>/<token>``, ``phase.member.<email>``
(lower-cased), ``phase.team.<name>``. Access grants are the ``access`` attribute of their member,
service account or team (``{app: [env, ...]}``), because the API replaces a principal's whole
access set in one request. Dangling references (unknown role, app, environment, member, service
account) are spec errors at their location.
"""

from __future__ import annotations

from reconciler.address import Address
from reconciler.errors import Location, SpecError, SpecErrors
from reconciler.model.resource import JSON, Resource
from reconciler.providers.base import CompileContext, Compiled
from reconciler.providers.phase import normalise as n
from reconciler.providers.phase.spec import FileStore, PhaseSection

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


def compile_section(section: PhaseSection, ctx: CompileContext) -> Compiled:
    """Desired resources of the section (see the module docstring)."""
    errors: list[SpecError] = []

    def where(*path: str | int) -> Location | None:
        return ctx.locate((NAME, *path))

    roles = set(n.DEFAULT_ROLES) | set(section.roles)

    def role_ref(name: str | None, *path: str | int) -> set[Address]:
        if name is None:
            return set()
        if name not in roles:
            errors.append(SpecError(f"unknown role {name!r}", where(*path)))
        return {addr("role", name)} if name in section.roles else set()

    envs_of = {app: list(spec.environments) for app, spec in section.apps.items()}

    def access_refs(grants: dict[str, list[str]], *path: str | int) -> set[Address]:
        deps: set[Address] = set()
        for app, envs in grants.items():
            if app not in section.apps:
                errors.append(SpecError(f"unknown app {app!r}", where(*path, app)))
                continue
            deps.add(addr("app", app))
            if not envs:
                errors.append(
                    SpecError(f"app {app!r}: list environments, or omit the app", where(*path, app))
                )
            for i, env in enumerate(envs):
                if env not in envs_of[app]:
                    errors.append(
                        SpecError(
                            f"unknown environment {env!r} of app {app!r}", where(*path, app, i)
                        )
                    )
                else:
                    deps.add(addr("environment", n.env_key(app, env)))
        return deps

    coverage: dict[str, dict[str, list[str]]] = {}  # "member:<email>" / "sa:<name>" -> access
    for team in section.teams.values():
        holders = [f"member:{e.lower()}" for e in team.members]
        holders += [f"sa:{s}" for s in team.service_accounts]
        for holder in holders:
            for app_name, env_names in team.access.items():
                coverage.setdefault(holder, {}).setdefault(app_name, []).extend(env_names)

    out: list[Resource] = []
    for name, role in section.roles.items():
        if name in n.DEFAULT_ROLES:
            errors.append(
                SpecError(
                    f"{name!r} is a default role and cannot be declared", where("roles", name)
                )
            )
        attrs: dict[str, JSON] = {
            "description": n.text(role.description),
            "color": role.color,
            "permissions": n.permissions(role.permissions),
            "app_permissions": n.permissions(role.app_permissions),
        }
        out.append(Resource(addr("role", name), attrs, location=where("roles", name)))

    for name, app in section.apps.items():
        meta: dict[str, JSON] = {"sse": app.sse, "environments": list(app.environments)}
        if app.previous_name:
            meta["previous_name"] = app.previous_name
        out.append(
            Resource(
                addr("app", name),
                {"name": name, "description": n.app_description(app.description), "sse": app.sse},
                meta=meta,
                location=where("apps", name),
            )
        )
        seen: set[str] = set()
        for i, env in enumerate(app.environments):
            if env.lower() in seen:
                errors.append(
                    SpecError(
                        f"duplicate environment {env!r}", where("apps", name, "environments", i)
                    )
                )
            seen.add(env.lower())
            env_meta: dict[str, JSON] = {"app": name, "index": i}
            previous = app.renamed_environments.get(env)
            if previous:
                env_meta["previous_name"] = previous
            out.append(
                Resource(
                    addr("environment", n.env_key(name, env)),
                    {"name": env},
                    depends_on=frozenset({addr("app", name)}),
                    meta=env_meta,
                    location=where("apps", name, "environments", i),
                )
            )
        for new in app.renamed_environments:
            if new not in app.environments:
                errors.append(
                    SpecError(
                        f"renamed environment {new!r} is not in environments",
                        where("apps", name, "renamed_environments", new),
                    )
                )

    for name, sa in section.service_accounts.items():
        if n.is_global(sa.role):
            errors.append(
                SpecError(
                    f"service accounts cannot hold the global-access role {sa.role!r}",
                    where("service_accounts", name, "role"),
                )
            )
        deps = role_ref(sa.role, "service_accounts", name, "role")
        deps |= access_refs(sa.access, "service_accounts", name, "access")
        out.append(
            Resource(
                addr("service_account", name),
                {"role": sa.role, "access": n.without(sa.access, coverage.get(f"sa:{name}", {}))},
                depends_on=frozenset(deps),
                meta={"tokens": list(sa.tokens), "access": n.access(sa.access)},
                location=where("service_accounts", name),
            )
        )
        for token_name, token in sa.tokens.items():
            tdeps = {addr("service_account", name)}
            store: dict[str, JSON] | None = None
            if isinstance(token.store, FileStore):
                store = {"file": token.store.file}
            elif token.store is not None:
                s = token.store
                store = {"app": s.app, "environment": s.environment, "key": s.key, "path": s.path}
                tdeps |= access_refs(
                    {s.app: [s.environment]},
                    "service_accounts",
                    name,
                    "tokens",
                    token_name,
                    "store",
                )
            attrs = {"rotation": "current"}
            out.append(
                Resource(
                    addr("sa_token", n.env_key(name, token_name)),
                    attrs,
                    depends_on=frozenset(tdeps),
                    meta={
                        "store": store,
                        "expires_in_days": token.expires_in_days,
                        "rotate_after_days": token.rotate_after_days,
                    },
                    location=where("service_accounts", name, "tokens", token_name),
                )
            )

    for email, member in section.members.items():
        deps = role_ref(member.role, "members", email, "role")
        attrs = {"role": member.role}
        member_meta: dict[str, JSON] = {}
        if n.is_global(member.role):
            if member.access:
                errors.append(
                    SpecError(
                        f"{member.role} members have access to every app; remove 'access'",
                        where("members", email, "access"),
                    )
                )
        else:
            deps |= access_refs(member.access, "members", email, "access")
            attrs["access"] = n.without(member.access, coverage.get(f"member:{email.lower()}", {}))
            member_meta["access"] = n.access(member.access)
        out.append(
            Resource(
                addr("member", email.lower()),
                attrs,
                depends_on=frozenset(deps),
                meta=member_meta,
                location=where("members", email),
            )
        )

    for name, team in section.teams.items():
        deps = role_ref(team.member_role, "teams", name, "member_role")
        deps |= role_ref(team.service_account_role, "teams", name, "service_account_role")
        deps |= access_refs(team.access, "teams", name, "access")
        for i, email in enumerate(team.members):
            if email.lower() not in {e.lower() for e in section.members}:
                errors.append(
                    SpecError(f"unknown member {email!r}", where("teams", name, "members", i))
                )
            deps.add(addr("member", email.lower()))
        for i, sa_name in enumerate(team.service_accounts):
            if sa_name not in section.service_accounts:
                errors.append(
                    SpecError(
                        f"unknown service account {sa_name!r}",
                        where("teams", name, "service_accounts", i),
                    )
                )
            deps.add(addr("service_account", sa_name))
        out.append(
            Resource(
                addr("team", name),
                {
                    "description": n.text(team.description),
                    "member_role": team.member_role,
                    "service_account_role": team.service_account_role,
                    "members": sorted({e.lower() for e in team.members}),
                    "service_accounts": sorted(set(team.service_accounts)),
                    "access": n.access(team.access),
                },
                depends_on=frozenset(deps),
                location=where("teams", name),
            )
        )

    for i, coll in enumerate(section.prune):
        if coll not in COLLECTIONS:
            errors.append(
                SpecError(
                    f"unknown collection {coll!r} in prune (one of {', '.join(COLLECTIONS)})",
                    where("prune", i),
                )
            )
    protect: set[Address] = set()
    for coll, names in section.protect.items():
        if coll not in COLLECTIONS:
            errors.append(
                SpecError(f"unknown collection {coll!r} in protect", where("protect", coll))
            )
            continue
        protect |= {addr(COLLECTIONS[coll], x.lower() if coll == "members" else x) for x in names}
    if errors:
        raise SpecErrors(errors)
    return Compiled(
        resources=out,
        prune=frozenset(COLLECTIONS[c] for c in section.prune if c in COLLECTIONS),
        protect=frozenset(protect),
    )
