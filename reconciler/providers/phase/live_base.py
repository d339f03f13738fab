"""What every part of one read shares: the id index it fills, and ``ReadBase`` (the read's
inputs, its output so far, and the helpers that turn access views into attributes)."""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from reconciler.address import Address
from reconciler.crypto.keyring import key_fingerprint
from reconciler.model.resource import JSON, Resource
from reconciler.model.state import State
from reconciler.providers.phase import normalise as n
from reconciler.providers.phase import payloads as p
from reconciler.providers.phase.client import PhaseClient
from reconciler.providers.phase.compile import NAME, addr
from reconciler.providers.phase.console import Identities
from reconciler.providers.phase.e2ee import HeldKey
from reconciler.providers.phase.live_scope import Scope
from reconciler.state.store import StateStore


@dataclass
class Index:
    """Server ids and facts learnt from the last read, used to build requests and checks."""

    caller_kind: str = "user"  # "user" (PAT) or "service" (service-account token)
    caller_id: str = ""  # member id or service-account id
    caller_email: str | None = None
    caller_sa: str | None = None  # the caller's service-account label
    roles: dict[str, str] = field(default_factory=dict)  # name -> id (default roles too)
    global_roles: set[str] = field(default_factory=lambda: set(n.GLOBAL_ROLES))
    minting_roles: set[str] = field(default_factory=lambda: set(n.TOKEN_MINTING_ROLES))
    apps: dict[str, str] = field(default_factory=dict)  # label -> id
    app_sse: dict[str, bool] = field(default_factory=dict)
    envs: dict[str, str] = field(default_factory=dict)  # "app/env" -> id
    sas: dict[str, str] = field(default_factory=dict)
    members: dict[str, str] = field(default_factory=dict)  # email -> member id
    invites: dict[str, str] = field(default_factory=dict)  # email -> invite id
    teams: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)  # "sa/token" -> id
    keys_listed: bool = True  # False when /secrets/tokens/ was not available
    organisation: str | None = None
    held: dict[str, HeldKey] = field(default_factory=dict)  # "app/env" -> the caller's key row
    wrapped_key_share: str | None = None
    identities: Identities | None = None


class ReadBase:
    """The state of one read (see ``live.py``); the read itself is split by collection."""

    def __init__(
        self,
        client: PhaseClient,
        desired: State,
        store: StateStore | None,
        identities: Identities | None = None,
        e2ee: bool = False,
        scope: Scope | None = None,
    ) -> None:
        self.client = client
        self.desired = desired
        self.store = store
        self.e2ee = e2ee  # E2EE grants are managed (diffed) rather than guarded
        self.scope = scope or Scope()
        self.idx = Index(identities=identities)  # identity keys (with a console session)
        self.out: list[Resource] = []
        self.app_label: dict[str, str] = {}  # app id -> label
        self.env_label: dict[str, str] = {}  # env id -> "app/env"
        self.unreadable: set[str] = set()  # ids of teams this token may not read
        self.now = datetime.datetime.now(datetime.UTC)
        self._wanted: dict[str, dict[str, Resource]] = {}

    def wanted(self, kind: str) -> dict[str, Resource]:
        """The desired objects of a kind by address name (computed once per kind)."""
        if kind not in self._wanted:
            self._wanted[kind] = {r.address.name: r for r in self.desired.of_kind(NAME, kind)}
        return self._wanted[kind]

    def get(self, path: str, address: object = None, **kw: Any) -> Any:
        return self.client.request("GET", path, address=address, **kw)

    def record(self, address: Address, key: str) -> JSON:
        return self.store.get_record(address, key) if self.store is not None else None

    def access_of(
        self, apps: Sequence[p.AccessApp]
    ) -> tuple[dict[str, JSON], list[str], list[str]]:
        """``(access, guarded apps, listed apps)`` from an access view. Guarded: apps the caller
        cannot see (it would revoke them with an access update), as ``?<id>``, and E2EE apps
        unless they are managed (``e2ee``). Listed: the labels of the apps in the view (the
        principal's individual app list)."""
        grants: dict[str, list[str]] = {}
        guarded: list[str] = []
        listed: list[str] = []
        for app in apps:
            label = self.app_label.get(app.id)
            if label is None:
                guarded.append(f"?{app.id}")
                continue
            listed.append(label)
            if not self.idx.app_sse.get(label, True) and not self.e2ee:
                guarded.append(label)
                continue
            for env in app.environments:
                key = self.env_label.get(env.id)
                if key is not None:
                    grants.setdefault(label, []).append(n.split_key(key)[1])
        return n.access(grants), sorted(guarded), sorted(listed)

    def identity_attrs(self, kind: str, principal_id: str) -> dict[str, JSON]:
        """``{"identity_key": fingerprint or None}`` with a console session, else nothing."""
        ids = self.idx.identities
        if ids is None:
            return {}
        key = ids.of(kind, principal_id)
        return {"identity_key": key_fingerprint(key) if key else None}

    def deps_of(self, grants: Mapping[str, JSON]) -> set[Address]:
        deps: set[Address] = set()
        for app, envs in grants.items():
            deps.add(addr("app", app))
            for env in strings(envs):
                deps.add(addr("environment", n.env_key(app, env)))
        return deps

    def role_dep(self, name: str | None) -> set[Address]:
        if name is None or name in n.DEFAULT_ROLES:
            return set()
        return {addr("role", name)}


def opt(value: JSON | None) -> str | None:
    return None if value is None else str(value)


def strings(value: JSON | None) -> list[str]:
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return []


def grants_of(value: Mapping[str, JSON]) -> dict[str, list[str]]:
    return {str(k): strings(v) for k, v in value.items()}
