"""The Phase plugin record: spec section, compile, open, export."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from reconciler.model.resource import JSON, Resource
from reconciler.model.state import State
from reconciler.providers.base import Provider, ProviderPlugin
from reconciler.providers.phase import normalise as n
from reconciler.providers.phase.access import access
from reconciler.providers.phase.compile import NAME, compile_section
from reconciler.providers.phase.provider import PhaseProvider
from reconciler.providers.phase.spec import PhaseSection
from reconciler.state.store import StateStore


def open_provider(section: PhaseSection, store: StateStore) -> PhaseProvider:
    """A provider for the section's organisation (no request until it is used)."""
    conn = section.connection
    console = (conn.email, conn.password) if conn.email and conn.password is not None else None
    return PhaseProvider(conn.url, conn.token, conn.rate_limit, store=store, console=console)


# The console login an exported spec holds when the organisation has E2EE apps (read with it
# when these variables are set: only it reads, and then manages, grants on those apps).
LOGIN = {"email": "${env:PHASE_EMAIL}", "password": "${env:PHASE_PASSWORD}"}


def export(provider: Provider) -> dict[str, Any]:
    """The live organisation as a ``phase:`` section: custom roles, apps and their
    environments, service accounts, members with their access, teams.

    When the organisation has end-to-end encrypted apps and the read had the console login
    (``PHASE_EMAIL`` / ``PHASE_PASSWORD`` set), the grants on them are exported too and the
    written ``connection`` holds ``email``/``password`` references, so the spec manages them;
    without the login they are left out and a comment on ``connection`` says how to add them.

    Left out: service-account tokens (their secrets cannot be read back, so they stay
    unmanaged), the applying principal (never managed), invites not yet accepted, and every
    object but the oldest of several sharing a name (the exported one is pinned with ``id:``;
    the others stay unmanaged). Planning the written spec gives no changes.
    """
    assert isinstance(provider, PhaseProvider)
    live = provider.read(State())
    index = provider.index
    out: dict[str, Any] = {section: {} for section in SECTIONS.values()}
    out["connection"] = _login(provider, live)
    names = {r.address.name for r in live.resources()}
    seen = _Seen(
        envs=_environments(live),
        shared={name.split("#", 1)[0] for name in names if "#" in name},
        caller_sa=index.caller_sa,
        caller_email=index.caller_email,
        global_roles=set(index.global_roles),
    )
    for r in live.resources():
        base, _, suffix = r.address.name.partition("#")
        if suffix and r.address.kind in ("app", "service_account", "team"):
            continue  # a second object of the same name: left unmanaged
        exporter = EXPORTERS.get(r.address.kind)
        entry = exporter(r, seen) if exporter is not None else None
        if entry is not None:
            pin: dict[str, JSON] = {"id": r.id} if base in seen.shared and r.id else {}
            keep_pin = r.address.kind in ("app", "service_account", "team")
            out[SECTIONS[r.address.kind]][r.address.name] = {**pin, **entry} if keep_pin else entry
    # Members of exported teams must be declared; the caller is never managed.
    for team in out["teams"].values():
        team["members"] = [m for m in team["members"] if m in out["members"]]
        team["service_accounts"] = [
            s for s in team["service_accounts"] if s in out["service_accounts"]
        ]
    return out


@dataclass(frozen=True)
class _Seen:
    """What the exporters need besides the resource: environments by app (in index order),
    names shared by several objects, the caller, the global-access roles."""

    envs: dict[str, list[str]]
    shared: set[str]
    caller_sa: str | None
    caller_email: str | None
    global_roles: set[str]


def _environments(live: State) -> dict[str, list[str]]:
    envs: dict[str, list[tuple[int, str]]] = {}
    for r in live.of_kind(NAME, "environment"):
        app_name, env = n.split_key(r.address.name)
        index_of = r.meta.get("index", 0)
        envs.setdefault(app_name, []).append(
            (int(index_of) if isinstance(index_of, int) else 0, env)
        )
    return {app: [e for _, e in sorted(found)] for app, found in envs.items()}


def _role(r: Resource, _seen: _Seen) -> dict[str, Any] | None:
    attrs = r.attributes
    keys = ("description", "color", "permissions", "app_permissions")
    return {k: attrs[k] for k in keys}


def _app(r: Resource, seen: _Seen) -> dict[str, Any] | None:
    attrs = r.attributes
    app: dict[str, Any] = {"environments": seen.envs.get(r.address.name, [])}
    if attrs["description"]:
        app["description"] = attrs["description"]
    if attrs["sse"] is False:
        app["sse"] = False
    return app


def _service_account(r: Resource, seen: _Seen) -> dict[str, Any] | None:
    if r.address.name == seen.caller_sa:
        return None
    sa: dict[str, Any] = {"role": r.attributes["role"]}
    if r.attributes.get("team"):
        sa["team"] = r.attributes["team"]
    sa["access"] = r.meta.get("access") or {}
    return sa


def _member(r: Resource, seen: _Seen) -> dict[str, Any] | None:
    if r.address.name == seen.caller_email or r.pending is not None:
        return None
    member: dict[str, Any] = {"role": r.attributes["role"]}
    if not n.is_global(str(r.attributes["role"]), seen.global_roles):
        member["access"] = r.meta.get("access") or {}
    return member


def _team(r: Resource, _seen: _Seen) -> dict[str, Any] | None:
    attrs = r.attributes
    team = {k: attrs[k] for k in ("description", "members", "service_accounts", "access")}
    for key in ("member_role", "service_account_role"):
        if attrs[key] is not None:
            team[key] = attrs[key]
    return team


# kind -> its section of the exported spec, and how one live object is written there
SECTIONS = {
    "role": "roles",
    "app": "apps",
    "service_account": "service_accounts",
    "member": "members",
    "team": "teams",
}
EXPORTERS: dict[str, Callable[[Resource, _Seen], dict[str, Any] | None]] = {
    "role": _role,
    "app": _app,
    "service_account": _service_account,
    "member": _member,
    "team": _team,
}


def _login(provider: PhaseProvider, live: State) -> dict[str, str]:
    """The connection fields the exported spec needs besides url and token (see ``export``)."""
    e2ee = sorted(r.address.name for r in live.of_kind(NAME, "app") if r.attributes["sse"] is False)
    if not e2ee:
        return {}
    if provider.e2ee:
        return dict(LOGIN)
    return {
        "#": f"The organisation has end-to-end encrypted apps ({', '.join(e2ee)}): their\n"
        "grants are read and managed with the console login. Set PHASE_EMAIL and\n"
        "PHASE_PASSWORD and export again to add them, with email/password references here."
    }


@dataclass(frozen=True)
class PhasePlugin(ProviderPlugin):
    """The plugin record plus the connection fields export uses (``engine.adoption``)."""

    connection_template: Mapping[str, str] = field(
        default_factory=lambda: {"url": "${env:PHASE_URL}", "token": "${env:PHASE_TOKEN}"}
    )
    connection_optional: Mapping[str, str] = field(default_factory=lambda: dict(LOGIN))


PLUGIN = PhasePlugin(
    name=NAME,
    section=PhaseSection,
    compile=compile_section,
    open=open_provider,
    export=export,
    access=access,
)
