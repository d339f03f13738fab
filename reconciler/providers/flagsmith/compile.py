"""Compile the ``flagsmith:`` section into desired resources (pure: no I/O).

Addresses (``flagsmith.<kind>.<name>``):

=======================  =====================================  ===================================
kind                     name                                   attributes
=======================  =====================================  ===================================
member                   ``alice@acme.io`` (lower-cased)        ``role``
group                    ``backend``                            (none)
group_member             ``backend/alice@acme.io``              (none)
project                  ``web``                                (none)
environment              ``web/Production``                     (none)
project_permission       ``web/user:alice@acme.io``,            ``admin``, ``permissions`` (sorted)
                         ``web/group:backend``
environment_permission   ``web/Production/group:backend``       ``admin``, ``permissions``
integration              ``web/azure_devops``                   the declared fields; secrets
                                                                (``personal_access_token``,
                                                                ``access_token``, ``api_key``)
                                                                are sensitive
github                   ``installation``                       ``installation_id``
repository               ``acme/web``                           ``project``, ``tagging_enabled``
=======================  =====================================  ===================================

Each resource's ``meta`` names its parents (``project``, ``environment``, ``principal``...), so
reading and applying never parse an address. A reference to an undeclared group, member,
environment or project, an unknown permission key and an unknown prune collection are
``SpecError``s at their spec location.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.address import Address
from reconciler.errors import SpecError, SpecErrors
from reconciler.model.resource import JSON, Resource
from reconciler.providers.base import CompileContext, Compiled
from reconciler.providers.flagsmith.spec import (
    ENVIRONMENT_PERMISSIONS,
    PROJECT_PERMISSIONS,
    FlagsmithSection,
    Grants,
)
from reconciler.secrets.value import Secret

NAME = "flagsmith"
KINDS = (
    "member",
    "group",
    "group_member",
    "project",
    "environment",
    "project_permission",
    "environment_permission",
    "integration",
    "github",
    "repository",
)
COLLECTIONS = {
    "members": "member",
    "groups": "group",
    "projects": "project",
    "environments": "environment",
    "permissions": "project_permission",
    "integrations": "integration",
    "repositories": "repository",
}
PRUNED_WITH = {"groups": ("group_member",), "permissions": ("environment_permission",)}
SECRETS = frozenset({"personal_access_token", "access_token", "api_key"})
WRITE_ONLY = frozenset({"personal_access_token", "access_token"})  # answered "write-only"
SLUGS = {
    "azure_devops": "azure-devops",
    "gitlab": "gitlab",
    "datadog": "datadog",
    "new_relic": "new-relic",
    "grafana": "grafana",
}
GITHUB = "installation"


def addr(kind: str, name: str) -> Address:
    return Address(NAME, kind, name)


def principal(who: str, ref: str) -> str:
    """``user:alice@acme.io`` or ``group:backend``."""
    return f"{who}:{ref.lower() if who == 'user' else ref}"


def compile_section(section: FlagsmithSection, ctx: CompileContext) -> Compiled:
    """Desired resources of the section; see the module docstring."""
    errors: list[SpecError] = []
    out: list[Resource] = []

    def at(*path: str | int) -> Any:
        return ctx.locate((NAME, *path))

    prune: set[str] = set()
    for i, name in enumerate(section.prune):
        if name not in COLLECTIONS:
            errors.append(SpecError(f"unknown collection {name!r} in prune", at("prune", i)))
            continue
        prune.update((COLLECTIONS[name], *PRUNED_WITH.get(name, ())))
    members = {email.lower(): spec for email, spec in section.members.items()}
    for email, member in section.members.items():
        out.append(
            Resource(
                addr("member", email.lower()), {"role": member.role}, location=at("members", email)
            )
        )
        for group in member.groups:
            if group not in section.groups:
                errors.append(SpecError(f"group {group!r} is not declared", at("members", email)))
                continue
            deps = frozenset({addr("group", group), addr("member", email.lower())})
            meta = {"group": group, "email": email.lower()}
            out.append(
                Resource(
                    addr("group_member", f"{group}/{email.lower()}"),
                    depends_on=deps,
                    meta=meta,
                    location=at("members", email),
                )
            )
    for group in section.groups:
        out.append(Resource(addr("group", group), location=at("groups", group)))
    for name, project in section.projects.items():
        out.extend(_project(name, project, section, members, errors, at))
    if section.github is not None:
        out.extend(_github(section, errors, at))
    if errors:
        raise SpecErrors(errors)
    protect = {addr("member", m.lower()) for m in section.protect.members}
    protect |= {addr("project", p) for p in section.protect.projects}
    return Compiled(out, prune=frozenset(prune), protect=frozenset(protect))


def _project(
    name: str,
    project: Any,
    section: FlagsmithSection,
    members: Mapping[str, Any],
    errors: list[SpecError],
    at: Any,
) -> list[Resource]:
    out = [Resource(addr("project", name), meta={"project": name}, location=at("projects", name))]
    for env in project.environments:
        out.append(
            Resource(
                addr("environment", f"{name}/{env}"),
                depends_on=frozenset({addr("project", name)}),
                meta={"project": name, "environment": env},
                location=at("projects", name, "environments"),
            )
        )
    where = ("projects", name, "permissions")
    out += _grants(name, None, project.permissions, section, members, errors, at(*where))
    for env, grants in project.environment_permissions.items():
        loc = at("projects", name, "environment_permissions", env)
        if env not in project.environments:
            errors.append(SpecError(f"environment {env!r} is not declared in {name!r}", loc))
            continue
        out += _grants(name, env, grants, section, members, errors, loc)
    for kind in SLUGS:
        config = getattr(project.integrations, kind)
        if config is not None:
            out.append(_integration(name, kind, config, at("projects", name, "integrations", kind)))
    return out


def _grants(
    project: str,
    env: str | None,
    grants: Grants,
    section: FlagsmithSection,
    members: Mapping[str, Any],
    errors: list[SpecError],
    loc: Any,
) -> list[Resource]:
    kind = "project_permission" if env is None else "environment_permission"
    keys = PROJECT_PERMISSIONS if env is None else ENVIRONMENT_PERMISSIONS
    parent = addr("project", project) if env is None else addr("environment", f"{project}/{env}")
    prefix = project if env is None else f"{project}/{env}"
    out: list[Resource] = []
    for who, table in (("user", grants.users), ("group", grants.groups)):
        for ref, grant in table.items():
            known = ref.lower() in members if who == "user" else ref in section.groups
            if not known:
                errors.append(SpecError(f"{who} {ref!r} is not declared", loc))
                continue
            bad = [k for k in grant.permissions if k not in keys]
            if bad:
                errors.append(
                    SpecError(f"unknown permission key {bad[0]!r} (one of: {', '.join(keys)})", loc)
                )
                continue
            target = addr("member", ref.lower()) if who == "user" else addr("group", ref)
            meta: dict[str, JSON] = {
                "project": project,
                "who": who,
                "ref": ref.lower() if who == "user" else ref,
            }
            if env is not None:
                meta["environment"] = env
            attrs: dict[str, JSON] = {
                "admin": grant.admin,
                "permissions": sorted(set(grant.permissions)),
            }
            out.append(
                Resource(
                    addr(kind, f"{prefix}/{principal(who, ref)}"),
                    attrs,
                    depends_on=frozenset({parent, target}),
                    meta=meta,
                    location=loc,
                )
            )
    return out


def _integration(project: str, kind: str, config: Any, loc: Any) -> Resource:
    attrs: dict[str, JSON] = {}
    secrets: dict[str, Secret] = {}
    for field, value in config.model_dump(exclude_none=True).items():
        if field in SECRETS:
            attrs[field] = None  # the loader puts the secret's keyed fingerprint here
            secrets[field] = getattr(config, field)
        else:
            attrs[field] = value
    return Resource(
        addr("integration", f"{project}/{kind}"),
        attrs,
        sensitive=frozenset(secrets),
        depends_on=frozenset({addr("project", project)}),
        meta={"project": project, "kind": kind},
        location=loc,
        secrets=secrets,
    )


def _github(section: FlagsmithSection, errors: list[SpecError], at: Any) -> list[Resource]:
    github = section.github
    assert github is not None
    out = [
        Resource(
            addr("github", GITHUB),
            {"installation_id": github.installation_id},
            location=at("github"),
        )
    ]
    for full, repo in github.repositories.items():
        loc = at("github", "repositories", full)
        if repo.project not in section.projects:
            errors.append(SpecError(f"project {repo.project!r} is not declared", loc))
            continue
        out.append(
            Resource(
                addr("repository", full),
                {"project": repo.project, "tagging_enabled": repo.tagging_enabled},
                depends_on=frozenset({addr("github", GITHUB), addr("project", repo.project)}),
                meta={"project": repo.project},
                location=loc,
            )
        )
    return out
