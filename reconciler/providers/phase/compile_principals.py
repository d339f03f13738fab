"""Compiling the principals of the ``phase:`` section: service accounts (and their tokens),
members and teams (see ``compile.py`` for addresses, access and reference rules)."""

from __future__ import annotations

from collections.abc import Mapping

from reconciler.model.resource import JSON, Resource
from reconciler.providers.phase import normalise as n
from reconciler.providers.phase.compile_base import CompilerBase
from reconciler.providers.phase.names import addr
from reconciler.providers.phase.spec import FileStore, SecretStore, TokenSpec, duration_seconds


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


class PrincipalCompiler(CompilerBase):
    """Service accounts, tokens, members and teams of one compilation."""

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
            problem = n.email_problem(email)  # the server's EmailValidator
            if problem:
                self.error(problem, *where)
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
                    meta={"owned": sorted(mine), **n.written(description=team.description)},
                    location=self.where(*where),
                )
            )
