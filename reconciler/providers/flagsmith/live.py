"""Reading a Flagsmith organisation's live state with few requests.

Order of reads (independent ones pooled):

1. ``GET /organisations/`` (a page): the API key's organisation, matched by ``organisation_id``
   or name; another name is an error (a key belongs to one organisation).
2. Together: members ``GET /organisations/{id}/users/`` (plain array), invites and groups (pages
   of 10), projects ``GET /projects/?organisation={id}`` (plain array), the GitHub configuration.
3. Per project, on the pool, only what the spec manages there: environments (pages), the
   integration kinds it declares (all five when ``integrations`` is pruned), project grants
   when it declares some (or ``permissions`` is pruned), environment grants likewise. A project
   the spec does not declare is read only when ``projects`` is pruned: its environments and
   integrations go with it, and the plan counts them.
4. The GitHub repositories, when the spec manages GitHub.

Write-only secrets come back as ``"write-only"``: the live attribute is ``None`` (the engine
puts in the fingerprint last applied) or, when nothing was ever applied from here, the spec's
fingerprint is adopted (``kit.writeonly.adopt_unknown``) and listed in the context's
``adopted`` for a one-time note. Clear-text keys are fingerprinted with the store's key here,
so they are compared like any secret and never held in clear in a resource.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from reconciler.errors import ProviderError
from reconciler.model.resource import JSON, Resource
from reconciler.model.state import State
from reconciler.providers.flagsmith import payloads as p
from reconciler.providers.flagsmith.client import FlagsmithClient
from reconciler.providers.flagsmith.compile import (
    GITHUB,
    NAME,
    SECRETS,
    SLUGS,
    addr,
    principal,
)
from reconciler.providers.flagsmith.spec import FlagsmithSection
from reconciler.providers.kit.pool import pool_map
from reconciler.providers.kit.writeonly import adopt_unknown, unknown_if_masked
from reconciler.secrets.value import Secret
from reconciler.state.store import StateStore

PENDING = "invited, not accepted yet"


@dataclass
class Ids:
    """Server ids the actions need, learnt by reading and by applying (thread-safe)."""

    organisation: int = 0
    organisation_name: str = ""
    users: dict[str, int] = field(default_factory=dict)
    groups: dict[str, int] = field(default_factory=dict)
    projects: dict[str, int] = field(default_factory=dict)
    environments: dict[str, str] = field(default_factory=dict)  # "project/env" -> api_key
    github: int | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass
class Scope:
    """What the spec manages, deciding which per-project reads are needed (indexes of the
    desired state, built once)."""

    prune: frozenset[str]
    desired: State
    fingerprint_key: bytes

    def declared(self, kind: str) -> set[str]:
        return self._names.get(kind, set())

    @cached_property
    def _names(self) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for r in self.desired.resources():
            out.setdefault(r.address.kind, set()).add(r.address.name)
        return out

    @cached_property
    def _index(self) -> dict[tuple[str, str, str], set[str]]:
        """(kind, project, environment or "") -> grant principals' types or integration kinds."""
        out: dict[tuple[str, str, str], set[str]] = {}
        for r in self.desired.resources():
            kind, meta = r.address.kind, r.meta
            key = (kind, str(meta.get("project")), str(meta.get("environment") or ""))
            if kind in ("project_permission", "environment_permission"):
                out.setdefault(key, set()).add(str(meta["who"]))
            elif kind == "integration":
                out.setdefault(key, set()).add(str(meta["kind"]))
        return out

    def grant_lists(self, project: str, env: str | None) -> set[str]:
        """Which grant lists (``user``, ``group``) to read for a project or environment."""
        kind = "project_permission" if env is None else "environment_permission"
        if kind in self.prune:
            return {"user", "group"}
        return self._index.get((kind, project, env or ""), set())

    def integration_kinds(self, project: str) -> set[str]:
        if "integration" in self.prune or project not in self.declared("project"):
            return set(SLUGS)
        return self._index.get(("integration", project, ""), set())


def organisation(client: FlagsmithClient, section: FlagsmithSection) -> p.Organisation:
    orgs = client.pages(p.Organisation, "/organisations/")
    for org in orgs:
        if section.organisation_id is not None and org.id == section.organisation_id:
            return org
        if section.organisation_id is None and section.organisation in (None, org.name):
            return org
    held = ", ".join(f"{o.name} (id {o.id})" for o in orgs) or "none"
    raise ProviderError(None, f"the API key's organisation is {held}, not {section.organisation!r}")


def read(
    client: FlagsmithClient,
    store: StateStore,
    section: FlagsmithSection,
    desired: State,
    prune: frozenset[str],
) -> tuple[State, Ids]:
    """The live state and the ids learnt (see the module docstring)."""
    org = organisation(client, section)
    ids = Ids(organisation=org.id, organisation_name=org.name)
    base = f"/organisations/{org.id}"
    manage_github = section.github is not None or "repository" in prune
    with ThreadPoolExecutor(max_workers=5) as pool:
        users_f = pool.submit(client.listed, p.User, f"{base}/users/")
        invites_f = pool.submit(client.pages, p.Invite, f"{base}/invites/")
        groups_f = pool.submit(client.pages, p.Group, f"{base}/groups/")
        params = {"organisation": str(org.id)}
        projects_f = pool.submit(client.listed, p.Project, "/projects/", params=params)
        github_f = pool.submit(client.pages, p.GitHubConfig, f"{base}/integrations/github/")
        if not manage_github:
            github_f.cancel()
        users, invites, groups = users_f.result(), invites_f.result(), groups_f.result()
        projects = projects_f.result()
        github = github_f.result() if manage_github else []
    scope = Scope(prune, desired, store.fingerprint_key)
    out: list[Resource] = []
    out += _members(users, invites, ids)
    out += _groups(groups, scope, ids)
    names = {pr.id: pr.name for pr in projects}
    ids.projects = {pr.name: pr.id for pr in projects}
    wanted = [pr for pr in projects if pr.name in scope.declared("project") or "project" in prune]
    for found in pool_map(lambda pr: _project(client, pr, scope, ids), wanted):
        out += found
    out += [
        Resource(addr("project", pr.name), id=str(pr.id), meta={"project": pr.name})
        for pr in projects
    ]
    if github:
        out += _github(client, base, github[0], names, ids)
    return _adopted(out, desired, store), ids


def _adopted(resources: list[Resource], desired: State, store: StateStore) -> State:
    adopted: list[JSON] = []
    out = []
    for r in resources:
        if r.sensitive:
            r, names = adopt_unknown(r, desired.get(r.address), store)
            adopted += [f"{r.address}:{n}" for n in names]
        out.append(r)
    return State(out, {NAME: {"adopted": adopted}})


def _members(users: list[p.User], invites: list[p.Invite], ids: Ids) -> list[Resource]:
    out = []
    for user in users:
        email = user.email.lower()
        ids.users[email] = user.id
        out.append(Resource(addr("member", email), {"role": user.role}, id=str(user.id)))
    for invite in invites:
        email = invite.email.lower()
        if email not in ids.users:
            out.append(
                Resource(
                    addr("member", email),
                    id=f"invite:{invite.id}",
                    pending=PENDING,
                    meta={"invite": invite.id},
                )
            )
    return out


def _groups(groups: list[p.Group], scope: Scope, ids: Ids) -> list[Resource]:
    out = []
    declared = scope.declared("group")
    members = scope.declared("member")
    for group in groups:
        ids.groups[group.name] = group.id
        out.append(Resource(addr("group", group.name), id=str(group.id)))
        if group.name not in declared:
            continue
        for user in group.users:
            email = user.email.lower()
            if email in members:
                out.append(
                    Resource(
                        addr("group_member", f"{group.name}/{email}"),
                        depends_on=frozenset({addr("group", group.name), addr("member", email)}),
                        meta={"group": group.name, "email": email},
                    )
                )
    return out


def _project(client: FlagsmithClient, project: p.Project, scope: Scope, ids: Ids) -> list[Resource]:
    """One project's environments, grants and integrations (sequential: the pool runs
    several projects at once)."""
    name, parent = project.name, addr("project", project.name)
    declared = name in scope.declared("project")
    out: list[Resource] = []
    envs = client.pages(p.Environment, "/environments/", params={"project": str(project.id)})
    for env in envs:
        label = f"{name}/{env.name}"
        with ids.lock:
            ids.environments[label] = env.api_key
        meta: dict[str, JSON] = {"project": name, "environment": env.name, "api_key": env.api_key}
        out.append(
            Resource(
                addr("environment", label),
                id=str(env.id),
                depends_on=frozenset({parent}),
                meta=meta,
            )
        )
        lists = scope.grant_lists(name, env.name) if declared else set()
        if lists:
            base = f"/environments/{env.api_key}"
            out += _grants(client, base, name, env.name, addr("environment", label), lists)
    lists = scope.grant_lists(name, None) if declared else set()
    if lists:
        out += _grants(client, f"/projects/{project.id}", name, None, parent, lists)
    kinds = scope.integration_kinds(name)
    for kind in sorted(kinds):
        path = f"/projects/{project.id}/integrations/{SLUGS[kind]}/"
        for config in client.listed(p.Integration, path):
            out.append(_integration(name, kind, config, parent, scope.fingerprint_key))
    return out


def _grants(
    client: FlagsmithClient,
    base: str,
    project: str,
    env: str | None,
    parent: Any,
    lists: set[str],
) -> list[Resource]:
    """The grants of one project or environment, from the ``lists`` (``user``, ``group``)
    the spec manages there."""
    kind = "project_permission" if env is None else "environment_permission"
    prefix = project if env is None else f"{project}/{env}"
    out = []
    rows: list[tuple[str, str, Any]] = []
    if "user" in lists:
        users = client.listed(p.UserGrant, f"{base}/user-permissions/")
        rows += [("user", g.user.email.lower(), g) for g in users]
    if "group" in lists:
        groups = client.listed(p.GroupGrant, f"{base}/user-group-permissions/")
        rows += [("group", g.group.name, g) for g in groups]
    for who, ref, grant in rows:
        target = addr("member", ref) if who == "user" else addr("group", ref)
        meta: dict[str, JSON] = {"project": project, "who": who, "ref": ref, "base": base}
        if env is not None:
            meta["environment"] = env
        out.append(
            Resource(
                addr(kind, f"{prefix}/{principal(who, ref)}"),
                {"admin": grant.admin, "permissions": sorted(set(grant.permissions))},
                id=str(grant.id),
                depends_on=frozenset({parent, target}),
                meta=meta,
            )
        )
    return out


def _integration(
    project: str, kind: str, config: p.Integration, parent: Any, key: bytes
) -> Resource:
    attrs: dict[str, JSON] = {}
    sensitive = set()
    for name, value in (config.model_extra or {}).items():
        if name in SECRETS:
            sensitive.add(name)
            clear = unknown_if_masked(value)
            # a key answered in clear is compared by keyed fingerprint, never held in clear
            attrs[name] = None if clear is None else Secret(str(clear)).fingerprint(key)
        else:
            attrs[name] = value
    return Resource(
        addr("integration", f"{project}/{kind}"),
        attrs,
        sensitive=frozenset(sensitive),
        id=str(config.id),
        depends_on=frozenset({parent}),
        meta={"project": project, "kind": kind},
    )


def _github(
    client: FlagsmithClient, base: str, config: p.GitHubConfig, names: dict[int, str], ids: Ids
) -> list[Resource]:
    ids.github = config.id
    out = [
        Resource(
            addr("github", GITHUB), {"installation_id": config.installation_id}, id=str(config.id)
        )
    ]
    repos = client.pages(p.Repository, f"{base}/integrations/github/{config.id}/repositories/")
    for repo in repos:
        project = names.get(repo.project, str(repo.project))
        out.append(
            Resource(
                addr("repository", f"{repo.repository_owner}/{repo.repository_name}"),
                {"project": project, "tagging_enabled": repo.tagging_enabled},
                id=str(repo.id),
                depends_on=frozenset({addr("github", GITHUB), addr("project", project)}),
                meta={"project": project},
            )
        )
    return out
