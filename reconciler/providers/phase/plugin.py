"""The Phase plugin record: spec section, compile, open, export."""

from __future__ import annotations

from typing import Any

from reconciler.model.state import State
from reconciler.providers.base import Provider, ProviderPlugin
from reconciler.providers.phase import normalise as n
from reconciler.providers.phase.compile import NAME, compile_section
from reconciler.providers.phase.provider import PhaseProvider
from reconciler.providers.phase.spec import PhaseSection
from reconciler.state.store import StateStore


def open_provider(section: PhaseSection, store: StateStore) -> PhaseProvider:
    conn = section.connection
    return PhaseProvider(conn.url, conn.token, conn.rate_limit)


def export(provider: Provider) -> dict[str, Any]:
    """The live organisation as a ``phase:`` section (custom roles, apps and environments,
    service accounts, members with access, teams). Tokens are left out: their secrets cannot be
    read back, so they are adopted as unmanaged. The applying principal is left out too (it is
    never managed), and so are E2EE grants."""
    assert isinstance(provider, PhaseProvider)
    live = provider.read(State())
    caller = provider.index.caller_email
    out: dict[str, Any] = {
        "roles": {},
        "apps": {},
        "service_accounts": {},
        "members": {},
        "teams": {},
    }
    envs: dict[str, list[tuple[int, str]]] = {}
    for r in live.of_kind(NAME, "environment"):
        app_name, env = r.address.name.split("/", 1)
        envs.setdefault(app_name, []).append((int(str(r.meta.get("index", 0))), env))
    for r in live.resources():
        a, attrs = r.address, r.attributes
        if a.kind == "role":
            out["roles"][a.name] = {
                "description": attrs["description"],
                "color": attrs["color"],
                "permissions": attrs["permissions"],
                "app_permissions": attrs["app_permissions"],
            }
        elif a.kind == "app":
            app: dict[str, Any] = {"environments": [e for _, e in sorted(envs.get(a.name, []))]}
            if attrs["description"]:
                app["description"] = attrs["description"]
            if attrs["sse"] is False:
                app["sse"] = False
            out["apps"][a.name] = app
        elif a.kind == "service_account":
            out["service_accounts"][a.name] = {"role": attrs["role"], "access": attrs["access"]}
        elif a.kind == "member" and a.name != caller and r.pending is None:
            member: dict[str, Any] = {"role": attrs["role"]}
            if not n.is_global(str(attrs["role"])):
                member["access"] = attrs.get("access") or {}
            out["members"][a.name] = member
        elif a.kind == "team":
            team = {k: attrs[k] for k in ("description", "members", "service_accounts", "access")}
            for key in ("member_role", "service_account_role"):
                if attrs[key] is not None:
                    team[key] = attrs[key]
            out["teams"][a.name] = team
    return out


PLUGIN = ProviderPlugin(
    name=NAME, section=PhaseSection, compile=compile_section, open=open_provider, export=export
)
