"""The Flagsmith plugin record: spec section, compile, open, export.

Export writes the live organisation as a section that plans no changes: members (a pending
invite as a member with role USER: its role cannot be read), groups, projects with their
environments, grants and integrations, and the GitHub integration. Integration secrets are
written as ``${env:FLAGSMITH_<PROJECT>_<KIND>_<FIELD>}`` references, never values; the names
are listed in a comment at the top of the section. Planning the export adopts the write-only
ones (they cannot be read back: "cannot verify") and compares the clear-text ones.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from reconciler.model.resource import Resource
from reconciler.model.state import State
from reconciler.providers.base import Provider, ProviderPlugin
from reconciler.providers.flagsmith.access import access
from reconciler.providers.flagsmith.compile import NAME, SECRETS, addr, compile_section
from reconciler.providers.flagsmith.provider import FlagsmithProvider
from reconciler.providers.flagsmith.spec import FlagsmithSection
from reconciler.state.store import StateStore


def open_provider(section: FlagsmithSection, store: StateStore) -> FlagsmithProvider:
    """A provider for the section's organisation (no request until it is used)."""
    return FlagsmithProvider(section, store)


def variable(project: str, kind: str, name: str) -> str:
    """The environment variable an exported secret refers to."""
    raw = f"FLAGSMITH_{project}_{kind}_{name}".upper()
    return re.sub(r"[^A-Z0-9_]", "_", raw)


def _wanted(live: State) -> State:
    """Every live object declared, so the read covers every project's children."""
    wanted = [
        Resource(r.address, meta=r.meta)
        for r in live.resources()
        if r.address.kind in ("project", "member", "group")
    ]
    return State(wanted)


def export(provider: Provider) -> dict[str, Any]:
    assert isinstance(provider, FlagsmithProvider)
    return _section(provider, provider.read(State()))


def _section(provider: FlagsmithProvider, first: State) -> dict[str, Any]:
    """The section written by ``export`` (see the module docstring)."""
    everything = frozenset(
        {"integration", "project_permission", "environment_permission", "repository"}
    )
    saved = provider.prune
    provider.prune = saved | everything
    try:
        live = provider.read(_wanted(first))
    finally:
        provider.prune = saved
    members: dict[str, Any] = {}
    for r in live.of_kind(NAME, "member"):
        members[r.address.name] = {"role": r.attributes.get("role") or "USER"}
    for r in live.of_kind(NAME, "group_member"):
        members[str(r.meta["email"])].setdefault("groups", []).append(str(r.meta["group"]))
    projects: dict[str, dict[str, Any]] = {
        r.address.name: {} for r in live.of_kind(NAME, "project")
    }
    variables: list[str] = []
    for r in sorted(live.resources(), key=lambda x: x.address):
        _project_part(r, projects, variables)
    out: dict[str, Any] = {
        "#": "secrets are read from: " + (", ".join(variables) if variables else "(none)"),
        "organisation": provider.ids.organisation_name,
        "members": members,
        "groups": {r.address.name: {} for r in live.of_kind(NAME, "group")},
        "projects": projects,
    }
    github = live.get(addr("github", "installation"))
    if github is not None:
        repos = {r.address.name: dict(r.attributes) for r in live.of_kind(NAME, "repository")}
        out["github"] = {
            "installation_id": github.attributes["installation_id"],
            "repositories": repos,
        }
    return out


def _project_part(r: Resource, projects: dict[str, dict[str, Any]], variables: list[str]) -> None:
    kind, meta = r.address.kind, r.meta
    project = projects.get(str(meta.get("project")))
    if project is None:
        return
    if kind == "environment":
        project.setdefault("environments", []).append(meta["environment"])
    elif kind in ("project_permission", "environment_permission"):
        table = (
            project.setdefault("permissions", {})
            if kind == "project_permission"
            else (
                project.setdefault("environment_permissions", {}).setdefault(
                    str(meta["environment"]), {}
                )
            )
        )
        who = "users" if meta["who"] == "user" else "groups"
        table.setdefault(who, {})[str(meta["ref"])] = dict(r.attributes)
    elif kind == "integration":
        config: dict[str, Any] = {}
        for name, value in r.attributes.items():
            if name in SECRETS:
                var = variable(str(meta["project"]), str(meta["kind"]), name)
                variables.append(var)
                config[name] = "${env:" + var + "}"
            elif value is not None:
                config[name] = value
        project.setdefault("integrations", {})[str(meta["kind"])] = config


@dataclass(frozen=True)
class FlagsmithPlugin(ProviderPlugin):
    """The plugin record plus the connection block an exported spec uses."""

    connection_template: Mapping[str, str] = field(
        default_factory=lambda: {
            "url": "${env:FLAGSMITH_URL}",
            "api_key": "${env:FLAGSMITH_API_KEY}",
        }
    )


PLUGIN = FlagsmithPlugin(
    name=NAME,
    section=FlagsmithSection,
    compile=compile_section,
    open=open_provider,
    export=export,
    access=access,
)
