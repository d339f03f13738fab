"""The Phase plugin record: spec section, compile, open, export."""

from __future__ import annotations

from typing import Any

from reconciler.model.resource import JSON
from reconciler.model.state import State
from reconciler.providers.base import Provider, ProviderPlugin
from reconciler.providers.phase import normalise as n
from reconciler.providers.phase.compile import NAME, compile_section
from reconciler.providers.phase.provider import PhaseProvider
from reconciler.providers.phase.spec import PhaseSection
from reconciler.state.store import StateStore


def open_provider(section: PhaseSection, store: StateStore) -> PhaseProvider:
    """A provider for the section's organisation (no request until it is used)."""
    conn = section.connection
    console = (conn.email, conn.password) if conn.email and conn.password is not None else None
    return PhaseProvider(conn.url, conn.token, conn.rate_limit, store=store, console=console)


def export(provider: Provider) -> dict[str, Any]:
    """The live organisation as a ``phase:`` section: custom roles, apps and their
    environments, service accounts, members with their access, teams.

    Left out: service-account tokens (their secrets cannot be read back, so they stay
    unmanaged), the applying principal (never managed), invites not yet accepted, grants on
    end-to-end encrypted apps (an exported spec has no console login to make them), and every
    object but the oldest of several sharing a name (the exported one is pinned with ``id:``;
    the others stay unmanaged). Planning the written spec gives no changes.
    """
    assert isinstance(provider, PhaseProvider)
    live = provider.read(State())
    index = provider.index
    out: dict[str, Any] = {
        "roles": {},
        "apps": {},
        "service_accounts": {},
        "members": {},
        "teams": {},
    }
    envs: dict[str, list[tuple[int, str]]] = {}
    for r in live.of_kind(NAME, "environment"):
        app_name, env = n.split_key(r.address.name)
        index_of = r.meta.get("index", 0)
        envs.setdefault(app_name, []).append(
            (int(index_of) if isinstance(index_of, int) else 0, env)
        )
    names = {r.address.name for r in live.resources()}
    shared = {name.split("#", 1)[0] for name in names if "#" in name}
    for r in live.resources():
        a, attrs = r.address, r.attributes
        base, _, suffix = a.name.partition("#")
        if suffix and a.kind in ("app", "service_account", "team"):
            continue  # a second object of the same name: left unmanaged
        pin: dict[str, JSON] = {"id": r.id} if base in shared and r.id else {}
        if a.kind == "role":
            out["roles"][a.name] = {
                "description": attrs["description"],
                "color": attrs["color"],
                "permissions": attrs["permissions"],
                "app_permissions": attrs["app_permissions"],
            }
        elif a.kind == "app":
            app: dict[str, Any] = {
                **pin,
                "environments": [e for _, e in sorted(envs.get(a.name, []))],
            }
            if attrs["description"]:
                app["description"] = attrs["description"]
            if attrs["sse"] is False:
                app["sse"] = False
            out["apps"][a.name] = app
        elif a.kind == "service_account" and a.name != index.caller_sa:
            sa: dict[str, Any] = {**pin, "role": attrs["role"]}
            if attrs.get("team"):
                sa["team"] = attrs["team"]
            sa["access"] = r.meta.get("access") or {}
            out["service_accounts"][a.name] = sa
        elif a.kind == "member" and a.name != index.caller_email and r.pending is None:
            member: dict[str, Any] = {"role": attrs["role"]}
            if not n.is_global(str(attrs["role"]), index.global_roles):
                member["access"] = r.meta.get("access") or {}
            out["members"][a.name] = member
        elif a.kind == "team":
            team: dict[str, Any] = {
                **pin,
                **{k: attrs[k] for k in ("description", "members", "service_accounts", "access")},
            }
            for key in ("member_role", "service_account_role"):
                if attrs[key] is not None:
                    team[key] = attrs[key]
            out["teams"][a.name] = team
    # Members of exported teams must be declared; the caller is never managed.
    for team in out["teams"].values():
        team["members"] = [m for m in team["members"] if m in out["members"]]
        team["service_accounts"] = [
            s for s in team["service_accounts"] if s in out["service_accounts"]
        ]
    return out


PLUGIN = ProviderPlugin(
    name=NAME, section=PhaseSection, compile=compile_section, open=open_provider, export=export
)
