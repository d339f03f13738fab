"""read: the live organisation as Resources, with the fewest requests the API allows.

Requests: ``/v1/roles/`` (+ one detail per custom role: the list has no permissions),
``/v1/apps/``, ``/secrets/tokens/`` (every environment the caller holds a key for, all apps in
one answer, instead of one ``/v1/environments/`` per app), ``/v1/service-accounts/`` (+ one
detail per SA: access and tokens), ``/v1/members/`` (+ one access view per member without a
global-access role), ``/v1/members/invites/``, ``/v1/teams/`` (+ one detail per team).

Names are matched the way the server matches them: member emails lower-cased, environment
names case-insensitively within their app; an app or environment declared with
``previous_name`` is found under its old name (the diff then shows the rename).
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from reconciler.address import Address
from reconciler.errors import ProviderError
from reconciler.model.resource import JSON, Resource
from reconciler.model.state import State
from reconciler.providers.phase import normalise as n
from reconciler.providers.phase.client import PhaseClient
from reconciler.providers.phase.compile import addr


@dataclass
class Index:
    """Server ids and facts learnt from the last read, used to build requests."""

    caller_kind: str = "user"
    caller_id: str = ""
    caller_email: str | None = None
    roles: dict[str, str] = field(default_factory=dict)  # name -> id (default roles too)
    apps: dict[str, str] = field(default_factory=dict)  # name -> id
    app_sse: dict[str, bool] = field(default_factory=dict)
    envs: dict[str, str] = field(default_factory=dict)  # "app/env" -> id
    env_names: dict[str, dict[str, str]] = field(default_factory=dict)  # app -> lower -> name
    sas: dict[str, str] = field(default_factory=dict)
    members: dict[str, str] = field(default_factory=dict)  # email -> member id
    invites: dict[str, str] = field(default_factory=dict)  # email -> invite id
    teams: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)  # "sa/token" -> id


def read_live(client: PhaseClient, desired: State) -> tuple[State, Index]:
    """The live organisation (see the module docstring) and the id index."""
    idx = Index()
    out: list[Resource] = []
    wanted_apps = {r.address.name: r for r in desired.of_kind("phase", "app")}
    wanted_envs = {r.address.name: r for r in desired.of_kind("phase", "environment")}
    wanted_tokens = {r.address.name: r for r in desired.of_kind("phase", "sa_token")}

    keys = client.request("GET", "/secrets/tokens/", address="phase", root=True)
    idx.caller_kind = "user" if "user_id" in keys else "service"
    idx.caller_id = str(keys.get("user_id") or keys.get("account_id") or "")

    # roles
    roles = client.get("/v1/roles/")["data"]
    for role in roles:
        idx.roles[role["name"]] = role["id"]
        if role["isDefault"]:
            continue
        detail = client.get(f"/v1/roles/{role['id']}/", address=addr("role", role["name"]))
        perms = detail.get("permissions") or {}
        out.append(
            Resource(
                addr("role", role["name"]),
                {
                    "description": n.text(role.get("description")),
                    "color": role.get("color") or "",
                    "permissions": n.permissions(perms.get("permissions", {})),
                    "app_permissions": n.permissions(perms.get("appPermissions", {})),
                },
                id=role["id"],
            )
        )

    # apps (a desired app with previous_name is found under its old name)
    apps = client.get("/v1/apps/")["data"]
    by_name: dict[str, list[Mapping[str, Any]]] = {}
    for app in apps:
        by_name.setdefault(app["name"], []).append(app)
    renamed = {
        str(r.meta["previous_name"]): name
        for name, r in wanted_apps.items()
        if r.meta.get("previous_name") and name not in by_name
    }
    app_name_of: dict[str, str] = {}  # app id -> address name
    for name, same in sorted(by_name.items()):
        if len(same) > 1:
            if name in wanted_apps:
                ids = ", ".join(a["id"] for a in same)
                raise ProviderError(
                    addr("app", name),
                    f"two live apps are named {name!r} (ids {ids}); rename one in the console "
                    "so the spec can tell them apart",
                )
            same = sorted(same, key=lambda a: a["createdAt"])
        for i, app in enumerate(same):
            label = renamed.get(name, name) if i == 0 else f"{name}#{app['id'][:8]}"
            app_name_of[app["id"]] = label
            idx.apps[label] = app["id"]
            idx.app_sse[label] = bool(app["sseEnabled"])
            out.append(
                Resource(
                    addr("app", label),
                    {
                        "name": app["name"],
                        "description": n.app_description(app.get("description")),
                        "sse": bool(app["sseEnabled"]),
                    },
                    id=app["id"],
                )
            )

    # environments: every env the caller holds a key for, from one request
    for entry in keys.get("apps", []):
        app_label = app_name_of.get(entry["id"])
        if app_label is None:
            continue
        names: dict[str, str] = {}
        wanted_here = {
            k.split("/", 1)[1]: r for k, r in wanted_envs.items() if k.split("/", 1)[0] == app_label
        }
        previous = {
            str(r.meta["previous_name"]).lower(): env
            for env, r in wanted_here.items()
            if r.meta.get("previous_name")
        }
        lower_wanted = {e.lower(): e for e in wanted_here}
        for key in entry.get("environment_keys", []):
            env = key["environment"]
            live_name = env["name"]
            label = (
                lower_wanted.get(live_name.lower()) or previous.get(live_name.lower()) or live_name
            )
            names[label.lower()] = label
            idx.envs[n.env_key(app_label, label)] = env["id"]
            out.append(
                Resource(
                    addr("environment", n.env_key(app_label, label)),
                    {"name": live_name},
                    depends_on=frozenset({addr("app", app_label)}),
                    id=env["id"],
                    meta={
                        "app": app_label,
                        "index": env.get("index", 0),
                        "env_type": env.get("env_type", ""),
                    },
                )
            )
        idx.env_names[app_label] = names
    env_label = {v: k for k, v in idx.envs.items()}

    def access_of(apps_view: list[Mapping[str, Any]]) -> tuple[dict[str, JSON], set[Address]]:
        grants: dict[str, list[str]] = {}
        deps: set[Address] = set()
        for app in apps_view:
            label = app_name_of.get(app["id"])
            if label is None:
                continue
            deps.add(addr("app", label))
            for env in app.get("environments", []):
                key = env_label.get(env["id"])
                if key is None:
                    continue
                grants.setdefault(label, []).append(key.split("/", 1)[1])
                deps.add(addr("environment", key))
        return n.access(grants), deps

    def role_dep(name: str | None) -> set[Address]:
        return {addr("role", name)} if name and name not in n.DEFAULT_ROLES else set()

    # service accounts and their tokens
    stamp = datetime.datetime.now(datetime.UTC)
    for sa in client.get("/v1/service-accounts/")["data"]:
        name = sa["name"]
        detail = client.get(
            f"/v1/service-accounts/{sa['id']}/", address=addr("service_account", name)
        )
        if name in idx.sas:
            name = f"{name}#{sa['id'][:8]}"
        idx.sas[name] = sa["id"]
        role = (sa.get("role") or {}).get("name")
        grants, deps = access_of(detail.get("apps", []))
        out.append(
            Resource(
                addr("service_account", name),
                {"role": role, "access": grants},
                depends_on=frozenset(deps | role_dep(role)),
                id=sa["id"],
            )
        )
        seen: set[str] = set()
        for token in detail.get("tokens", []):  # newest first
            key = n.env_key(name, token["name"])
            if key in seen:
                key = f"{key}#{token['id'][:8]}"
            seen.add(key)
            idx.tokens[key] = token["id"]
            wanted = wanted_tokens.get(key)
            rotate = wanted.meta.get("rotate_after_days") if wanted is not None else None
            created = datetime.datetime.fromisoformat(token["createdAt"].replace("Z", "+00:00"))
            due = isinstance(rotate, int) and stamp - created >= datetime.timedelta(days=rotate)
            out.append(
                Resource(
                    addr("sa_token", key),
                    {"rotation": "due" if due else "current"},
                    depends_on=frozenset({addr("service_account", name)}),
                    id=token["id"],
                    meta={"created_at": token["createdAt"], "expires_at": token.get("expiresAt")},
                )
            )

    # members, then invites of people who are not members yet
    for member in client.get("/v1/members/")["data"]:
        email = member["email"].lower()
        idx.members[email] = member["id"]
        if member["id"] == idx.caller_id:
            idx.caller_email = email
        role = (member.get("role") or {}).get("name")
        attrs: dict[str, JSON] = {"role": role}
        deps = role_dep(role)
        if not n.is_global(role):
            view = client.get(f"/v1/members/{member['id']}/access/", address=addr("member", email))
            grants, access_deps = access_of(view.get("apps", []))
            attrs["access"] = grants
            deps |= access_deps
        out.append(
            Resource(addr("member", email), attrs, depends_on=frozenset(deps), id=member["id"])
        )
    for invite in client.get("/v1/members/invites/")["data"]:
        email = invite["inviteeEmail"].lower()
        if email in idx.members or email in idx.invites:
            continue
        idx.invites[email] = invite["id"]
        role = (invite.get("role") or {}).get("name")
        out.append(
            Resource(
                addr("member", email),
                {"role": role},
                depends_on=frozenset(role_dep(role)),
                id=invite["id"],
                pending=f"invite sent {invite['createdAt'][:10]}, not accepted yet",
                meta={"invite": True},
            )
        )

    # teams, then team-granted access taken out of members' and SAs' access (see n.without)
    sa_name_of = {v: k for k, v in idx.sas.items()}
    coverage: dict[str, dict[str, list[str]]] = {}
    for team in client.get("/v1/teams/")["data"]:
        name = team["name"]
        if name in idx.teams:
            name = f"{name}#{team['id'][:8]}"
        idx.teams[name] = team["id"]
        detail = client.get(f"/v1/teams/{team['id']}/", address=addr("team", name))
        members = sorted(
            m["email"].lower()
            for m in detail.get("members", [])
            if m["type"] == "user" and m["id"] != idx.caller_id
        )
        sas = sorted(
            sa_name_of.get(m["id"], m.get("name", ""))
            for m in detail.get("members", [])
            if m["type"] == "service_account" and m["id"] != idx.caller_id
        )
        grants, deps = access_of(detail.get("apps", []))
        for m in detail.get("members", []):
            held = coverage.setdefault(m["id"], {})
            for app, envs in grants.items():
                held.setdefault(app, []).extend(str(e) for e in envs)  # type: ignore[union-attr]
        member_role = (team.get("memberRole") or {}).get("name")
        sa_role = (team.get("serviceAccountRole") or {}).get("name")
        deps |= {addr("member", e) for e in members} | {addr("service_account", s) for s in sas}
        deps |= role_dep(member_role) | role_dep(sa_role)
        out.append(
            Resource(
                addr("team", name),
                {
                    "description": n.text(team.get("description")),
                    "member_role": member_role,
                    "service_account_role": sa_role,
                    "members": members,
                    "service_accounts": sas,
                    "access": grants,
                },
                depends_on=frozenset(deps),
                id=team["id"],
            )
        )
    reduced = []
    for r in out:
        if r.address.kind in ("member", "service_account") and r.id in coverage:
            attrs = dict(r.attributes)
            if isinstance(attrs.get("access"), Mapping):
                attrs["access"] = n.without(attrs["access"], coverage[r.id])  # type: ignore[arg-type]
            r = dataclasses.replace(r, attributes=attrs)
        reduced.append(r)
    return State(reduced), idx
