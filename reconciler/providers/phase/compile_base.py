"""What every part of compiling the ``phase:`` section shares: where a spec node is, the
collected errors, and resolving role and access references (see ``compile.py``)."""

from __future__ import annotations

from collections.abc import Mapping

from reconciler.address import Address
from reconciler.errors import Location, SpecError
from reconciler.model.resource import Resource
from reconciler.providers.base import CompileContext
from reconciler.providers.phase import normalise as n
from reconciler.providers.phase.names import NAME, addr
from reconciler.providers.phase.spec import EnvironmentSpec, PhaseSection


def env_entry(entry: str | EnvironmentSpec) -> EnvironmentSpec:
    """An ``environments`` list entry as a mapping."""
    return entry if isinstance(entry, EnvironmentSpec) else EnvironmentSpec(name=entry)


class CompilerBase:
    """One compilation: the section, its output so far and its errors."""

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
