"""PhaseProvider: plans and applies changes to one Phase organisation (contracts/phase.md §5, §8).

Rules enforced here, each with its reason (``check`` refuses a plan that would break one; apply
guards the dangerous ones again):

* Access updates replace a principal's whole set (§8 item 2), so every access update sends the
  complete desired individual set, never a delta.
* An access update for a principal holding access to an end-to-end encrypted (E2EE) app would
  revoke that access and wipe its keys (§8 item 1): refused, naming the principal and the app;
  so is any grant on an E2EE app, and any change to an E2EE app's environments (REST cannot).
* The owner is never changed or removed, and nobody is given the Owner role; the applying
  principal never changes its own role, access, team or membership.
* Promotion to a global-access role: access to every SSE environment first, then the role
  (REST role changes grant no keys); demotion: role first, then the desired access (§8 item 4).
* A new environment: principals whose desired access includes it are updated after it exists
  (through their ``depends_on``); service accounts the server gives it to automatically are
  re-sent their access after it (``refine``).
* A service-account token is refused, before apply, what the API refuses it (§8 item 3).
* Non-idempotent POSTs (apps, service accounts, teams, tokens, roles, environments, secrets) are
  never retried blind: after an unanswered or failed POST the object is looked up by name and
  adopted (a token whose answer was lost is deleted and minted again: its secret is unknown).
* 404 on DELETE means already gone.
"""

from __future__ import annotations

import dataclasses
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from reconciler.address import Address
from reconciler.crypto.tokens import PhaseToken, parse_token
from reconciler.errors import ProviderError
from reconciler.model.resource import JSON
from reconciler.model.state import State
from reconciler.plan.change import Action, Change
from reconciler.plan.plan import Violation
from reconciler.providers.base import Capabilities, Outcome
from reconciler.providers.phase import normalise as n
from reconciler.providers.phase import payloads as p
from reconciler.providers.phase.client import PhaseClient
from reconciler.providers.phase.compile import COLLECTIONS, KINDS, NAME, addr
from reconciler.providers.phase.live import Index, read_live
from reconciler.secrets.value import Secret
from reconciler.state.store import StateStore

ATTEMPTS = 3


def ambiguous(exc: ProviderError) -> bool:
    """The request may or may not have been executed (no answer, or a server error)."""
    return exc.status is None or exc.status >= 500


class PhaseProvider:
    """The Provider protocol for one Phase organisation."""

    name = NAME
    capabilities = Capabilities(
        kinds=KINDS, collections=COLLECTIONS, pending_on_create=frozenset({"member"})
    )

    def __init__(
        self,
        url: str,
        token: Secret,
        rate_limit: int = 240,
        store: StateStore | None = None,
        identity: Callable[[], Mapping[str, bool] | None] | None = None,
        **client: Any,
    ) -> None:
        self.url = url.rstrip("/")
        self.token: PhaseToken = parse_token(token.reveal())
        self.client = PhaseClient(self.url, self.token, rate_limit, **client)
        self.store = store
        self.identity = identity
        self.index = Index()
        self.lock = threading.RLock()
        self._read_once = False
        self._org: str | None = None
        self._minted: dict[str, Secret] = {}  # "sa/token" -> initial token, not stored yet

    # -- protocol: identity, read, stats ----------------------------------------------------

    def organisation(self) -> str | None:
        """The organisation's id (from ``/secrets/tokens/``; one request, then cached)."""
        if self._org is None:
            try:
                keys = p.parse(
                    p.KeysView,
                    self.client.request("GET", "/secrets/tokens/", address=NAME, root=True),
                    NAME,
                    "GET /secrets/tokens/",
                )
            except ProviderError:
                return None
            self._org = keys.organisation.id if keys.organisation else None
        return self._org

    def target(self) -> str:
        """``phase:<url>#<organisation id>`` (the token's public key when the server does not
        say which organisation it is)."""
        return f"phase:{self.url}#{self.organisation() or 'token-' + self.token.kx_public[:16]}"

    def read(self, desired: State, only: frozenset[Address] | None = None) -> State:
        """The whole organisation (``only`` is not used: a full read is a few list requests
        plus the details lists lack, and apply needs every id)."""
        identity = self.identity() if self.identity is not None else None
        state, index = read_live(self.client, desired, self.store, identity)
        with self.lock:
            self.index = index
            self._read_once = True
            self._org = self._org or index.organisation
        return state

    def stats(self) -> dict[str, JSON]:
        return dict(self.client.counts)

    def close(self) -> None:
        self.client.close()

    # -- protocol: planning hooks ------------------------------------------------------------

    def refine(self, changes: Sequence[Change], desired: State, live: State) -> list[Change]:
        """Drop deletes the server does by cascade (or that belong to unmanaged parents),
        re-send service-account access after new environments, add warnings (pure)."""
        kept = [c for c in changes if not _cascaded(c, desired)]
        kept = _resend_after_new_envs(kept, desired, live, self.index.caller_sa)
        out = []
        for change in kept:
            warnings = self._warnings(change)
            out.append(dataclasses.replace(change, warnings=change.warnings + tuple(warnings)))
        return out

    def _warnings(self, change: Change) -> list[str]:
        a, out = change.address, []
        if a.kind == "sa_token" and change.action in (Action.CREATE, Action.UPDATE):
            if change.desired is not None and change.desired.meta.get("store") is None:
                out.append(
                    "token has no store: its secret is shown by the API once and is discarded; "
                    "add store: {file: …} or store: {app, environment, key}"
                )
            if change.action is Action.UPDATE:
                out.append("a new token is minted and stored, then the old one is deleted")
        if a.kind == "environment" and change.action is Action.DELETE:
            out.append("deleting an environment deletes its secrets (hard delete)")
        if a.kind == "app" and change.action is Action.DELETE:
            out.append("deleting an app deletes all its environments and secrets (hard delete)")
        if (
            a.kind in ("app", "environment")
            and change.action is Action.CREATE
            and self.token.kind == "service"
        ):
            out.append(
                "a service-account token sees only the apps and environments it holds: if "
                "one of this name exists out of its sight, an app is created twice (an "
                "environment is refused by the server)"
            )
        if a.kind in ("member", "service_account", "team") and not self.index.caller_id:
            out.append(
                "the server did not say which principal this token is (/secrets/tokens/), so "
                "the rules protecting the applying principal cannot be checked"
            )
        if a.kind == "member" and change.action is Action.CREATE and change.desired is not None:
            role = _opt(change.desired.attributes.get("role"))
            if role is not None and self._invite_role(role) != role:
                out.append(
                    f"invited as Developer: the server does not invite with the {role} role; "
                    "the role is set once the invite is accepted"
                )
        if a.kind == "member" and self.store is not None and change.action is Action.UPDATE:
            note = self.store.get_record(a, "no_identity_key")
            if change.live is not None and note == change.live.id:
                out.append(
                    "the last apply found this member without keys (not logged in since the "
                    "invite); their access is set once they have logged in"
                )
        return out

    def check(self, changes: Sequence[Change], desired: State, live: State) -> list[Violation]:
        """Owner and self protection, E2EE hazards, immutable fields, what a service-account
        token cannot do, and what the server would refuse (pure)."""
        out: list[Violation] = []
        e2ee = {
            r.address.name for r in live.of_kind(NAME, "app") if r.attributes.get("sse") is False
        }
        e2ee |= {
            r.address.name for r in desired.of_kind(NAME, "app") if r.attributes.get("sse") is False
        }
        # environments this plan creates: their creator holds their keys
        created: set[Address | str] = {
            c.address.name
            for c in changes
            if c.address.kind == "environment" and c.action is Action.CREATE
        }
        # tokens the server mints with a service account created by this plan
        initial: set[Address | str] = set()
        for c in changes:
            if c.address.kind == "service_account" and c.action is Action.CREATE:
                token = _opt(c.resource.meta.get("initial_token"))
                if token is not None:
                    initial.add(addr("sa_token", n.env_key(c.address.name, token)))
        for change in changes:
            out.extend(self._check_one(change, e2ee, live, initial | created))
        out.extend(_roles_in_use(changes, live))
        return out

    def _check_one(
        self, change: Change, e2ee: set[str], live: State, made: set[Address | str]
    ) -> list[Violation]:
        a, act = change.address, change.action
        have: Mapping[str, JSON] = change.live.attributes if change.live else {}
        want: Mapping[str, JSON] = change.desired.attributes if change.desired else {}
        diffs = {d.path.split(".")[0] for d in change.diffs}
        out: list[Violation] = []

        def refuse(rule: str, message: str) -> None:
            out.append(Violation(rule, (a,), message))

        # E2EE apps: REST cannot create them, change their environments or grant them.
        if a.kind == "app":
            if act is Action.CREATE and want.get("sse") is False:
                unseen = (
                    " (if it exists, this service-account token cannot see it)"
                    if self.token.kind == "service"
                    else ""
                )
                refuse(
                    "e2ee",
                    "end-to-end encrypted apps cannot be created through the API; create it "
                    f"in the console, or declare sse: true{unseen}",
                )
            if act is Action.UPDATE and "sse" in diffs:
                refuse(
                    "e2ee",
                    "sse cannot be changed through the API (enabling it needs the console); "
                    "declare the app's live setting",
                )
            if act is Action.DELETE and have.get("sse") is False:
                refuse("e2ee", "end-to-end encrypted apps cannot be deleted through the API")
        if (
            a.kind == "environment"
            and n.split_key(a.name)[0] in e2ee
            and act is not Action.DEFERRED
        ):
            refuse(
                "e2ee",
                "environments of an end-to-end encrypted app cannot be created, renamed or "
                "deleted through the API; change them in the console",
            )
        if a.kind in ("member", "service_account", "team") and act is not Action.DELETE:
            for app in sorted(set(_mapping(want.get("access"))) & e2ee):
                refuse(
                    "e2ee",
                    f"grants access to end-to-end encrypted app {app!r}: the API cannot grant "
                    "it (it needs the keys re-wrapped on a key holder's device)",
                )
        if a.kind in ("member", "service_account") and act is Action.UPDATE:
            sends_access = "access" in diffs or bool(change.details.get("resend_access"))
            if a.kind == "member" and _promotes(change, self.index.global_roles):
                sends_access = True
            held = _strings(have.get("e2ee_access"))
            if sends_access and held:
                app = held[0]
                what = (
                    f"an app this token cannot see (id {app[1:]})"
                    if app.startswith("?")
                    else f"end-to-end encrypted app {app!r}"
                )
                refuse(
                    "e2ee",
                    f"holds access to {what}: an access update replaces the whole set and would "
                    "revoke it and wipe its keys; change this principal's access in the console",
                )

        if (
            a.kind == "role"
            and act is Action.UPDATE
            and change.live is not None
            and change.live.meta.get("global_access")
        ):
            refuse(
                "global_role",
                "this role was made in the console with global access; an update through the "
                "API replaces its permissions and drops global access. Change it in the console",
            )

        # The owner, the Owner role, and the applying principal itself.
        if a.kind == "member":
            if have.get("role") == "Owner" and act in (Action.UPDATE, Action.DELETE):
                if act is Action.DELETE or diffs:
                    refuse("owner", "the organisation owner is never changed or removed")
            elif want.get("role") == "Owner" and act in (Action.CREATE, Action.UPDATE):
                refuse(
                    "owner",
                    "the Owner role cannot be given (ownership is transferred in the console)",
                )
            if a.name == self.index.caller_email and (
                act is Action.DELETE or (act is Action.UPDATE and diffs)
            ):
                refuse(
                    "self",
                    "the applying principal never changes its own role, access or membership",
                )
        if (
            a.kind == "service_account"
            and a.name == self.index.caller_sa
            and (act is Action.DELETE or (act is Action.UPDATE and diffs))
        ):
            refuse(
                "self",
                "the applying service account never changes its own role, access or existence",
            )
        if a.kind == "team" and act in (Action.UPDATE, Action.DELETE) and change.live is not None:
            out.extend(self._check_team(change, diffs))
        if a.kind == "service_account" and act is Action.UPDATE and "team" in diffs:
            refuse(
                "immutable",
                "the owning team of a service account cannot be changed; declare the live "
                "team, or create a new service account under another name",
            )
        if self.token.kind == "service":
            out.extend(self._check_sa_caller(change, live, made))
        return out

    def _check_team(self, change: Change, diffs: set[str]) -> list[Violation]:
        out = []
        live = change.live
        assert live is not None
        if live.meta.get("scim") and diffs & {"members", "description", "member_role"}:
            out.append(
                Violation(
                    "scim",
                    (change.address,),
                    "this team is managed by SCIM: its members and settings change in the "
                    "identity provider",
                )
            )
        return out

    def _check_sa_caller(
        self, change: Change, live: State, made: set[Address | str]
    ) -> list[Violation]:
        """§8 item 3: what a service-account token cannot do. ``made``: initial tokens of
        accounts and ``app/env`` keys of environments this plan creates (their creator holds
        them)."""
        a, act = change.address, change.action
        have = change.live.attributes if change.live else {}
        want = change.desired.attributes if change.desired else {}
        out: list[Violation] = []

        def refuse(message: str) -> None:
            out.append(Violation("sa_caller", (a,), message + " (use an Owner or Admin PAT)"))

        globals_ = self.index.global_roles
        if a.kind == "member" and act is not Action.DEFERRED:
            if n.is_global(_opt(want.get("role")), globals_) and act is not Action.DELETE:
                refuse("a service-account token cannot assign a global-access role")
            if n.is_global(_opt(have.get("role")), globals_) and act is not Action.CREATE:
                refuse("a service-account token cannot change or remove Owner or Admin members")
        if a.kind == "sa_token" and act in (Action.CREATE, Action.UPDATE):
            sa = n.split_key(a.name)[0]
            if sa != self.index.caller_sa and a not in made:
                refuse(
                    "a service-account token can mint tokens only for itself (or for accounts "
                    "of its teams)"
                )
        if a.kind in ("member", "service_account", "team") and act in (
            Action.CREATE,
            Action.UPDATE,
        ):
            mine = self._caller_access(live)
            missing = [
                f"{app}/{env}"
                for app, envs in sorted(_mapping(want.get("access")).items())
                for env in _strings(envs)
                if env not in mine.get(app, ()) and n.env_key(app, env) not in made
            ]
            if missing:
                refuse(
                    "a service-account token can grant only environments it holds itself; "
                    f"it lacks {', '.join(missing[:3])}" + (" …" if len(missing) > 3 else "")
                )
        return out

    def _caller_access(self, live: State) -> dict[str, list[str]]:
        caller = self.index.caller_sa
        if caller is None or addr("service_account", caller) not in live:
            return {}
        meta = live[addr("service_account", caller)].meta.get("access")
        return {k: _strings(v) for k, v in _mapping(meta).items()}

    def _invite_role(self, role: str) -> str:
        """The role an invite is sent with: the server refuses global-access roles and roles
        that can mint service-account tokens in invites; those are set after acceptance."""
        if n.is_global(role, self.index.global_roles) or role in self.index.minting_roles:
            return "Developer"
        return role

    # -- protocol: apply -------------------------------------------------------------------

    def apply(self, change: Change) -> Outcome:
        if not self._read_once:
            self.read(State())
        handlers: Mapping[str, Callable[[Change], Outcome]] = {
            "role": self._role,
            "app": self._app,
            "environment": self._environment,
            "service_account": self._service_account,
            "sa_token": self._token,
            "member": self._member,
            "team": self._team,
        }
        return handlers[change.address.kind](change)

    # ids ---------------------------------------------------------------------------------

    def _id(self, table: str, key: str, address: object) -> str:
        with self.lock:
            found = getattr(self.index, table).get(key)
        if found is None:
            raise ProviderError(address, f"no live {table[:-1]} {key!r} (deleted meanwhile?)")
        return str(found)

    def _remember(self, table: str, key: str, value: str) -> None:
        with self.lock:
            getattr(self.index, table)[key] = value

    def _role_id(self, name: str | None, address: object) -> str | None:
        return None if name is None else self._id("roles", name, address)

    def _access_body(self, grants: Mapping[str, Any], address: object) -> dict[str, Any]:
        apps = []
        for app, envs in sorted(grants.items()):
            apps.append(
                {
                    "id": self._id("apps", app, address),
                    "environments": [
                        self._id("envs", n.env_key(app, e), address) for e in _strings(envs)
                    ],
                }
            )
        return {"apps": apps}

    def _put_access(self, path: str, change: Change, grants: Mapping[str, Any]) -> None:
        """An access update (the whole set), guarded against the E2EE hazard once more."""
        held = _strings(change.live.attributes.get("e2ee_access")) if change.live else []
        if held:
            raise ProviderError(
                change.address,
                f"refusing an access update: it would revoke access to {held[0]} "
                "(end-to-end encrypted or not visible to this token)",
            )
        self.client.request("PUT", path, body=self._access_body(grants, change.address),
                            address=change.address)  # fmt: skip

    def _all_sse_access(self) -> dict[str, list[str]]:
        with self.lock:
            out: dict[str, list[str]] = {}
            for key in self.index.envs:
                app, env = n.split_key(key)
                if self.index.app_sse.get(app):
                    out.setdefault(app, []).append(env)
            return out

    def _adopt_or_post(
        self, address: Address, lookup: Callable[[], str | None], post: Callable[[], Any]
    ) -> tuple[Any, bool]:
        """POST; when it fails without a clear answer (5xx, dropped connection) it may have
        been executed, so look the object up by name and adopt it, else POST again (at most
        ``ATTEMPTS`` times). Returns ``(answer, adopted)``; an adopted answer is ``{"id"}``.
        No lookup is needed before the first POST: the plan was made from a fresh read."""
        for attempt in range(ATTEMPTS):
            try:
                return post(), False
            except ProviderError as exc:
                if not ambiguous(exc) or attempt == ATTEMPTS - 1:
                    raise
                existing = lookup()
                if existing is not None:
                    return {"id": existing}, True
        raise ProviderError(address, "unreachable")  # pragma: no cover

    def _find(self, path: str, name: str, *, fold: bool = False, **kw: Any) -> str | None:
        """The id of the one object named ``name`` in a list endpoint, else ``None``."""
        data = self.client.request("GET", path, address=NAME, **kw)
        items = data["data"] if isinstance(data, Mapping) else data
        same = [
            str(x["id"])
            for x in items
            if (str(x.get("name", "")).lower() == name.lower() if fold else x.get("name") == name)
        ]
        return same[0] if len(same) == 1 else None

    # roles -------------------------------------------------------------------------------

    def _role(self, change: Change) -> Outcome:
        a = change.address
        if change.action is Action.DELETE:
            return self._delete(change, "roles")
        want = change.resource.attributes
        body = {
            "name": want.get("name", a.name),
            "description": want["description"],
            "color": want["color"],
            "permissions": {
                "permissions": want["permissions"],
                "app_permissions": want["app_permissions"],
            },
        }
        if change.action is Action.CREATE:
            try:
                made, adopted = self._adopt_or_post(
                    a,
                    lambda: self._find("/v1/roles/", a.name, fold=True),
                    lambda: self.client.request("POST", "/v1/roles/", body=body, address=a),
                )
            except ProviderError as exc:
                if exc.status != 409:
                    raise
                found = self._find("/v1/roles/", a.name, fold=True)
                if found is None:
                    raise
                made, adopted = {"id": found}, True
            role_id = str(made["id"])
            self._remember("roles", a.name, role_id)
            if adopted:  # it may predate us, or hold the answer we lost: make it as declared
                self.client.request("PUT", f"/v1/roles/{role_id}/", body=body, address=a)
            return Outcome(server_id=role_id, message="adopted existing role" if adopted else None)
        role_id = _live_id(change)
        self.client.request("PUT", f"/v1/roles/{role_id}/", body=body, address=a)
        return Outcome(server_id=role_id)

    def _delete(self, change: Change, collection: str) -> Outcome:
        """DELETE ``/v1/<collection>/<live id>/``; 404 means already gone (contracts §8 item 8)."""
        self.client.request(
            "DELETE",
            f"/v1/{collection}/{_live_id(change)}/",
            address=change.address,
            ok_missing=True,
        )
        return Outcome()

    # apps and environments ---------------------------------------------------------------

    def _app(self, change: Change) -> Outcome:
        a = change.address
        if change.action is Action.DELETE:
            return self._delete(change, "apps")
        want = change.resource.attributes
        if change.action is Action.CREATE:
            envs = _strings(change.resource.meta.get("environments"))
            body: dict[str, Any] = {"name": a.name}
            if want.get("description"):
                body["description"] = want["description"]
            if envs and envs != n.DEFAULT_ENVIRONMENTS:
                body["environments"] = envs
            made, adopted = self._adopt_or_post(
                a,
                lambda: self._find("/v1/apps/", a.name),
                lambda: self.client.request("POST", "/v1/apps/", body=body, address=a),
            )
            app_id = str(made["id"])
            self._remember("apps", a.name, app_id)
            with self.lock:
                self.index.app_sse[a.name] = True
            listed = made.get("environments") if not adopted else self._envs_of(app_id)
            for env in listed or []:
                self._remember("envs", n.env_key(a.name, env["name"]), env["id"])
            return Outcome(server_id=app_id, message="adopted existing app" if adopted else None)
        app_id = _live_id(change)
        body = {}
        for d in change.diffs:
            if d.path in ("name", "description"):
                body[d.path] = want[d.path] if want[d.path] is not None else ""
        if body:
            self.client.request("PUT", f"/v1/apps/{app_id}/", body=body, address=a)
        return Outcome(server_id=app_id)

    def _envs_of(self, app_id: str) -> list[Mapping[str, Any]]:
        data = self.client.request("GET", "/v1/environments/", params={"app_id": app_id})
        return list(data["data"])

    def _environment(self, change: Change) -> Outcome:
        a = change.address
        app, _env = n.split_key(a.name)
        if change.action is Action.DELETE:
            return self._delete(change, "environments")
        want_name = str(change.resource.attributes["name"])
        if change.action is Action.CREATE:
            with self.lock:
                known = self.index.envs.get(a.name)
            if known is not None:  # created with its app, in the same request
                return Outcome(server_id=known)
            app_id = self._id("apps", app, a)

            def lookup() -> str | None:
                envs = self._envs_of(app_id)
                same = [e["id"] for e in envs if str(e["name"]).lower() == want_name.lower()]
                return str(same[0]) if same else None

            try:
                made, _adopted = self._adopt_or_post(
                    a,
                    lookup,
                    lambda: self.client.request(
                        "POST",
                        "/v1/environments/",
                        params={"app_id": app_id},
                        body={"name": want_name},
                        address=a,
                    ),
                )
            except ProviderError as exc:
                found = lookup() if exc.status == 400 else None
                if found is None:
                    raise
                made = {"id": found}
            self._remember("envs", a.name, str(made["id"]))
            return Outcome(server_id=str(made["id"]))
        env_id = _live_id(change)
        self.client.request(
            "PUT", f"/v1/environments/{env_id}/", body={"name": want_name}, address=a
        )
        return Outcome(server_id=env_id)

    # service accounts and tokens ----------------------------------------------------------

    def _service_account(self, change: Change) -> Outcome:
        a = change.address
        if change.action is Action.DELETE:
            return self._delete(change, "service-accounts")
        want = change.resource.attributes
        role_id = self._role_id(_opt(want["role"]), a)
        if change.action is Action.CREATE:
            return self._create_service_account(change, role_id)
        sa_id = _live_id(change)
        paths = {d.path.split(".")[0] for d in change.diffs}
        put: dict[str, Any] = {}
        if "name" in paths:
            put["name"] = want["name"]
        if "role" in paths:
            put["role_id"] = role_id
        if put:
            self.client.request("PUT", f"/v1/service-accounts/{sa_id}/", body=put, address=a)
        if "access" in paths or change.details.get("resend_access"):
            self._put_access(
                f"/v1/service-accounts/{sa_id}/access/",
                change,
                _mapping(change.resource.meta.get("access")),
            )
        return Outcome(server_id=sa_id)

    def _create_service_account(self, change: Change, role_id: str | None) -> Outcome:
        a = change.address
        want = change.resource.attributes
        # The server mints a token that never expires with the account: it serves the first
        # declared token without an expiry; otherwise it is deleted at once.
        token = _opt(change.resource.meta.get("initial_token"))
        first = addr("sa_token", n.env_key(a.name, token)) if token else None
        body: dict[str, Any] = {
            "name": a.name,
            "role_id": role_id,
            "token_name": token or "Default",
        }
        team = _opt(want.get("team"))
        if team is not None:
            body["team_id"] = self._id("teams", team, a)
        if first is not None and self.store is not None:
            # If this run stops before the initial token is stored, the next run re-mints it.
            self.store.set_record(first, "minting", True)
        answer, adopted = self._adopt_or_post(
            a,
            lambda: self._find("/v1/service-accounts/", a.name),
            lambda: self.client.request("POST", "/v1/service-accounts/", body=body, address=a),
        )
        sa_id = str(answer["id"])
        self._remember("sas", a.name, sa_id)
        if self.store is not None and team is not None:
            self.store.set_record(a, "team", {"id": sa_id, "team": team})
        if adopted:
            # The answer with the initial token was lost: nobody can ever use that token.
            detail = p.parse(
                p.ServiceAccountDetail,
                self.client.request("GET", f"/v1/service-accounts/{sa_id}/", address=a),
                a,
                "GET /v1/service-accounts/{id}/",
            )
            for lost in detail.tokens:
                self.client.request(
                    "DELETE",
                    f"/v1/service-accounts/{sa_id}/tokens/{lost.id}/",
                    address=a,
                    ok_missing=True,
                )
        else:
            made = p.parse(p.ServiceAccountCreated, answer, a, "POST /v1/service-accounts/")
            initial = made.initial_token
            if initial is not None:
                if first is not None:
                    with self.lock:
                        self._minted[first.name] = initial.token
                    self._remember("tokens", first.name, initial.id)
                else:
                    # A secret shown once and stored nowhere is only a risk: delete it.
                    self.client.request(
                        "DELETE",
                        f"/v1/service-accounts/{sa_id}/tokens/{initial.id}/",
                        address=a,
                        ok_missing=True,
                    )
        grants = _mapping(change.resource.meta.get("access"))
        if grants:
            self.client.request(
                "PUT",
                f"/v1/service-accounts/{sa_id}/access/",
                body=self._access_body(grants, a),
                address=a,
            )
        return Outcome(
            server_id=sa_id, message="adopted existing service account" if adopted else None
        )

    def _token(self, change: Change) -> Outcome:
        a = change.address
        sa_name, token_name = n.split_key(a.name)
        if change.action is Action.DELETE:
            with self.lock:
                sa_id = self.index.sas.get(sa_name)
            if sa_id is not None:
                self.client.request(
                    "DELETE",
                    f"/v1/service-accounts/{sa_id}/tokens/{_live_id(change)}/",
                    address=a,
                    ok_missing=True,
                )
            return Outcome()
        meta = change.resource.meta
        target = change.resource.attributes.get("store")
        sa_id = self._id("sas", sa_name, a)
        with self.lock:
            minted = self._minted.pop(a.name, None)
            initial_id = self.index.tokens.get(a.name)
        if change.action is Action.CREATE and minted is not None and initial_id is not None:
            self._store(a, meta.get("store"), minted)
            self._stored(a, initial_id, target)
            return Outcome(server_id=initial_id, message="stored the initial token")
        if self.store is not None:
            self.store.set_record(a, "minting", True)
        made = self._mint(a, sa_id, token_name, meta.get("expires_in"))
        self._store(a, meta.get("store"), made.token)
        self._stored(a, made.id, target)
        self._remember("tokens", a.name, made.id)
        if change.action is Action.UPDATE and change.live is not None and change.live.id:
            self.client.request(
                "DELETE",
                f"/v1/service-accounts/{sa_id}/tokens/{change.live.id}/",
                address=a,
                ok_missing=True,
            )
            return Outcome(server_id=made.id, message="new token stored, old token deleted")
        return Outcome(server_id=made.id)

    def _mint(
        self, address: Address, sa_id: str, name: str, expires_in: JSON | None
    ) -> p.MintedToken:
        """POST a token. When the answer is lost the token may exist with a secret nobody
        has: such tokens (this name, not known before) are deleted, then it is minted again."""
        body: dict[str, Any] = {"name": name}
        if isinstance(expires_in, int):
            body["expires_in"] = expires_in
        path = f"/v1/service-accounts/{sa_id}/tokens/"
        before = self._token_ids(address, sa_id)
        for attempt in range(ATTEMPTS):
            try:
                answer = self.client.request("POST", path, body=body, address=address)
                return p.parse(p.MintedToken, answer, address, f"POST {path}")
            except ProviderError as exc:
                if not ambiguous(exc) or attempt == ATTEMPTS - 1:
                    raise
                for token_id, token_name in self._tokens_of(address, sa_id):
                    if token_name == name and token_id not in before:
                        self.client.request(
                            "DELETE", f"{path}{token_id}/", address=address, ok_missing=True
                        )
        raise ProviderError(address, "unreachable")  # pragma: no cover

    def _tokens_of(self, address: Address, sa_id: str) -> list[tuple[str, str]]:
        detail = p.parse(
            p.ServiceAccountDetail,
            self.client.request("GET", f"/v1/service-accounts/{sa_id}/", address=address),
            address,
            "GET /v1/service-accounts/{id}/",
        )
        return [(t.id, t.name) for t in detail.tokens]

    def _token_ids(self, address: Address, sa_id: str) -> set[str]:
        """Token ids known before a mint: the last read's, plus a fresh list of this SA's."""
        with self.lock:
            known = set(self.index.tokens.values())
        return known | {token_id for token_id, _name in self._tokens_of(address, sa_id)}

    def _stored(self, address: Address, token_id: str, target: JSON) -> None:
        if self.store is not None:
            self.store.set_record(address, "stored", {"id": token_id, "target": target})
            self.store.set_record(address, "minting", None)

    def _store(self, address: Address, store: JSON, secret: Secret) -> None:
        """Write a token secret where the spec says, never anywhere else."""
        if not isinstance(store, Mapping):
            return
        if "file" in store:
            path = Path(str(store["file"]))
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(secret.reveal() + "\n")
            os.chmod(path, 0o600)
            return
        app_id = self._id("apps", str(store["app"]), address)
        params = {"app_id": app_id, "env": str(store["environment"])}
        key, path_ = str(store["key"]), str(store.get("path") or "/")
        item = {"key": key, "value": secret.reveal(), "path": path_}

        def existing() -> str | None:
            found = self.client.request(
                "GET", "/v1/secrets/", params={**params, "key": key}, address=address
            )
            want_path = "/" + path_.strip().strip("/")
            same = [
                str(s["id"])
                for s in (found or [])
                if isinstance(s, Mapping)
                and "/" + str(s.get("path") or "/").strip("/") == want_path
            ]
            return same[0] if same else None

        for attempt in range(ATTEMPTS):
            try:
                self.client.request(
                    "POST", "/v1/secrets/", params=params, body={"secrets": [item]},
                    address=address,
                )  # fmt: skip
                return
            except ProviderError as exc:
                if exc.status != 409 and (not ambiguous(exc) or attempt == ATTEMPTS - 1):
                    raise
                secret_id = existing()
                if secret_id is None:
                    continue
                self.client.request(
                    "PUT",
                    "/v1/secrets/",
                    params=params,
                    body={"secrets": [{**item, "id": secret_id}]},
                    address=address,
                )
                return

    # members and invites -----------------------------------------------------------------

    def _member(self, change: Change) -> Outcome:
        a = change.address
        if change.action is Action.DELETE:
            live = change.live
            assert live is not None
            if live.meta.get("invite"):
                self.client.request(
                    "DELETE", f"/v1/members/invites/{live.id}/", address=a, ok_missing=True
                )
            else:
                self.client.request("DELETE", f"/v1/members/{live.id}/", address=a, ok_missing=True)
            return Outcome()
        want = change.resource.attributes
        wanted_role = str(want["role"])
        if change.action is Action.CREATE:
            role_id = self._role_id(self._invite_role(wanted_role), a)
            try:
                made = self.client.request(
                    "POST",
                    "/v1/members/invites/",
                    body={"email": a.name, "role_id": role_id},
                    address=a,
                )
            except ProviderError as exc:
                # 409: invited already (perhaps by a POST whose answer was lost).
                if exc.status != 409:
                    raise
                return Outcome(pending="invited; waits for acceptance")
            return Outcome(server_id=str(made["id"]), pending="invited; waits for acceptance")
        member_id = _live_id(change)
        live_role = _opt(change.live.attributes.get("role")) if change.live else None
        globals_ = self.index.global_roles
        role_changes = wanted_role != live_role
        access_changes = any(d.path.split(".")[0] == "access" for d in change.diffs)
        promote = (
            role_changes
            and n.is_global(wanted_role, globals_)
            and not n.is_global(live_role, globals_)
        )
        demote = (
            role_changes
            and n.is_global(live_role, globals_)
            and not n.is_global(wanted_role, globals_)
        )
        path = f"/v1/members/{member_id}/access/"
        try:
            if promote:
                # keys for every SSE environment first: REST role changes grant none
                self._put_access(path, change, self._all_sse_access())
            if role_changes:
                self.client.request(
                    "PUT",
                    f"/v1/members/{member_id}/",
                    body={"role_id": self._role_id(wanted_role, a)},
                    address=a,
                )
            if (access_changes or demote) and not n.is_global(wanted_role, globals_):
                self._put_access(path, change, _mapping(change.resource.meta.get("access")))
        except ProviderError as exc:
            if exc.status in (400, 403) and "identity key" in exc.message:
                if self.store is not None:
                    self.store.set_record(a, "no_identity_key", member_id)
                return Outcome(
                    pending="member has not logged in since the invite (no keys yet); a later "
                    "run sets their access"
                )
            raise
        if self.store is not None and self.store.get_record(a, "no_identity_key"):
            self.store.set_record(a, "no_identity_key", None)
        return Outcome(server_id=member_id)

    # teams -------------------------------------------------------------------------------

    def _team(self, change: Change) -> Outcome:
        a = change.address
        if change.action is Action.DELETE:
            return self._delete(change, "teams")
        want = change.resource.attributes
        owned = set(_strings(change.resource.meta.get("owned")))
        member_role = self._role_id(_opt(want["member_role"]), a) or ""
        sa_role = self._role_id(_opt(want["service_account_role"]), a) or ""
        have: Mapping[str, Any] = change.live.attributes if change.live else {}
        if change.action is Action.CREATE:
            body: dict[str, Any] = {"name": a.name}
            if want["description"]:
                body["description"] = want["description"]
            if member_role:
                body["member_role_id"] = member_role
            if sa_role:
                body["service_account_role_id"] = sa_role
            made, adopted = self._adopt_or_post(
                a,
                lambda: self._find("/v1/teams/", a.name),
                lambda: self.client.request("POST", "/v1/teams/", body=body, address=a),
            )
            team_id = str(made["id"])
            self._remember("teams", a.name, team_id)
            have = {"members": [], "service_accounts": [], "access": {}}
            if adopted:
                detail = p.parse(
                    p.TeamDetail,
                    self.client.request("GET", f"/v1/teams/{team_id}/", address=a),
                    a,
                    "GET /v1/teams/{id}/",
                )
                sa_names = {v: k for k, v in self.index.sas.items()}
                emails = {v: k for k, v in self.index.members.items()}
                have = {
                    "members": [emails.get(m.id, "") for m in detail.members if m.type == "user"],
                    "service_accounts": [
                        sa_names.get(m.id, "") for m in detail.members if m.type != "user"
                    ],
                    "access": None,
                }
        else:
            team_id = _live_id(change)
            changed = {d.path.split(".")[0] for d in change.diffs}
            put: dict[str, Any] = {}
            if "name" in changed:
                put["name"] = want["name"]
            if "description" in changed:
                put["description"] = want["description"]
            if "member_role" in changed:
                put["member_role_id"] = member_role
            if "service_account_role" in changed:
                put["service_account_role_id"] = sa_role
            if put:
                self.client.request("PUT", f"/v1/teams/{team_id}/", body=put, address=a)
        caller = {self.index.caller_email, self.index.caller_sa}
        for kind, key, table in (
            ("user", "members", "members"),
            ("service_account", "service_accounts", "sas"),
        ):
            wanted = set(_strings(want[key])) - (owned if kind != "user" else set())
            current = set(_strings(have.get(key)))
            add = sorted(wanted - current)
            if add:
                self.client.request(
                    "POST",
                    f"/v1/teams/{team_id}/members/",
                    body={"member_type": kind, "member_ids": [self._id(table, x, a) for x in add]},
                    address=a,
                )
            for gone in sorted(current - wanted - owned - caller):
                self.client.request(
                    "DELETE",
                    f"/v1/teams/{team_id}/members/{self._id(table, gone, a)}/",
                    params={"member_type": kind},
                    address=a,
                    ok_missing=True,
                )
        if want["access"] != have.get("access"):
            self.client.request(
                "PUT",
                f"/v1/teams/{team_id}/access/",
                body=self._access_body(_mapping(want["access"]), a),
                address=a,
            )
        return Outcome(server_id=team_id)


# -- pure helpers ------------------------------------------------------------------------


def _cascaded(change: Change, desired: State) -> bool:
    """A delete of an environment or token whose parent is not declared: the parent's own
    delete removes it (cascade), or the parent is unmanaged and so are its children."""
    if change.action is not Action.DELETE:
        return False
    if change.address.kind == "environment":
        return addr("app", n.split_key(change.address.name)[0]) not in desired
    if change.address.kind == "sa_token":
        return addr("service_account", n.split_key(change.address.name)[0]) not in desired
    return False


def _resend_after_new_envs(
    changes: list[Change], desired: State, live: State, caller: str | None = None
) -> list[Change]:
    """The server gives a new environment to every service account that is an individual
    member of its app (contracts/phase.md §5.2), whatever the spec says: such an account's
    access is re-sent after the environment exists."""
    new_envs: dict[str, list[Address]] = {}
    for c in changes:
        if c.address.kind == "environment" and c.action is Action.CREATE:
            new_envs.setdefault(n.split_key(c.address.name)[0], []).append(c.address)
    if not new_envs:
        return changes
    out = list(changes)
    at = {c.address: i for i, c in enumerate(out)}
    for sa in live.of_kind(NAME, "service_account"):
        held = set(_mapping(sa.meta.get("access"))) & set(new_envs)
        if not held or sa.address not in desired or sa.address.name == caller:
            continue
        after = tuple(sorted(a for app in held for a in new_envs[app]))
        details: dict[str, JSON] = {"resend_access": True}
        if sa.address in at:
            c = out[at[sa.address]]
            if c.action is Action.UPDATE:
                out[at[sa.address]] = dataclasses.replace(
                    c, depends_on=c.depends_on + after, details={**c.details, **details}
                )
            continue
        out.append(
            Change(
                Action.UPDATE,
                sa.address,
                desired=desired[sa.address],
                live=sa,
                depends_on=after,
                details=details,
                warnings=(
                    "access re-sent after the new environments: the server gives them to the "
                    "app's service accounts",
                ),
            )
        )
    return out


def _roles_in_use(changes: Sequence[Change], live: State) -> list[Violation]:
    """A role delete the server would refuse (409): a live principal keeps the role and no
    change of this plan moves it away."""
    gone = {
        c.address.name for c in changes if c.address.kind == "role" and c.action is Action.DELETE
    }
    if not gone:
        return []
    moving = {c.address for c in changes if c.action in (Action.UPDATE, Action.DELETE)}
    out = []
    for r in live.resources():
        if r.address.kind not in ("member", "service_account") or r.address in moving:
            continue
        role = _opt(r.attributes.get("role"))
        if role in gone:
            out.append(
                Violation(
                    "in_use",
                    (addr("role", role), r.address),
                    f"role {role!r} is still held by {r.address}, which the spec does not "
                    "manage; give it another role first",
                )
            )
    return out


def _live_id(change: Change) -> str:
    if change.live is None or change.live.id is None:
        raise ProviderError(change.address, "no live id to act on")
    return change.live.id


def _mapping(value: JSON | None) -> Mapping[str, JSON]:
    return value if isinstance(value, Mapping) else {}


def _strings(value: JSON | None) -> list[str]:
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return []


def _opt(value: JSON | None) -> str | None:
    return None if value is None else str(value)


def _promotes(change: Change, global_roles: set[str]) -> bool:
    want = change.desired.attributes.get("role") if change.desired else None
    have = change.live.attributes.get("role") if change.live else None
    return n.is_global(_opt(want), global_roles) and not n.is_global(_opt(have), global_roles)
