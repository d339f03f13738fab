"""PhaseProvider: plans and applies changes to one Phase organisation (contracts/phase.md §5, §8).

Rules enforced here, each with its reason:

* Access PUTs replace a principal's whole set, so every access PUT sends the complete desired set
  (the ``access`` attribute), never a delta.
* An access PUT for a principal holding access to an end-to-end encrypted (E2EE) app would
  revoke that access and wipe its keys (§8 item 1): ``check`` refuses such a plan, naming the
  principal and the app; so does any desired grant on an E2EE app, which REST cannot make.
* The owner is never changed or removed, and the applying principal never changes its own role,
  access or membership (``check``).
* Promotion to a global-access role: access first (every SSE app and environment, as the console
  does), then the role; demotion: role first, then the desired access (§8 item 4).
* Creating an environment leaves non-global principals without it: their access changes depend
  on it (through ``depends_on``), so they are re-sent after it exists.
* Non-idempotent POSTs (apps, service accounts, teams, tokens, invites) are never retried blind:
  after a failed or unanswered POST the object is looked up by name and adopted if it exists.
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
from reconciler.providers.phase.client import PhaseClient
from reconciler.providers.phase.compile import COLLECTIONS, KINDS, NAME
from reconciler.providers.phase.live import Index, read_live
from reconciler.secrets.value import Secret


class PhaseProvider:
    """The Provider protocol for one Phase organisation."""

    name = NAME
    capabilities = Capabilities(
        kinds=KINDS, collections=COLLECTIONS, pending_on_create=frozenset({"member"})
    )

    def __init__(self, url: str, token: Secret, rate_limit: int = 240, **client: Any) -> None:
        self.url = url.rstrip("/")
        self.token: PhaseToken = parse_token(token.reveal())
        self.client = PhaseClient(self.url, self.token, rate_limit, **client)
        self.index = Index()
        self.lock = threading.RLock()
        self._read_once = False
        self._minted: dict[str, str] = {}  # "sa/token" -> secret minted with its SA, not stored yet

    # -- protocol: identity, read, stats ----------------------------------------------------

    def target(self) -> str:
        return f"phase:{self.url}#{self.token.kx_public[:16]}"

    def read(self, desired: State, only: frozenset[Address] | None = None) -> State:
        """The whole organisation (``only`` is not used: a full read is a handful of list
        requests, and apply needs every id anyway)."""
        state, index = read_live(self.client, desired)
        with self.lock:
            self.index = index
            self._read_once = True
        return state

    def stats(self) -> dict[str, JSON]:
        return dict(self.client.counts)

    def close(self) -> None:
        self.client.close()

    # -- protocol: planning hooks ------------------------------------------------------------

    def refine(self, changes: Sequence[Change], desired: State, live: State) -> list[Change]:
        """Warnings, reviewer details and access re-sends (pure).

        A new environment is given by the server to every service account that is an individual
        member of its app (contracts/phase.md §5.2), whatever the spec says; such an account's
        access is therefore re-sent after the environment exists (``resend_access``).
        """
        changes = self._resend_after_new_envs(list(changes), desired, live)
        out = []
        for change in changes:
            warnings: list[str] = []
            if change.address.kind == "sa_token" and change.action is Action.CREATE:
                store = change.desired.meta.get("store") if change.desired else None
                if store is None:
                    warnings.append(
                        "token has no store: its secret is shown by the API once and will be "
                        "discarded; add store: {file: …} or store: {app, environment, key}"
                    )
            if change.address.kind == "environment" and change.action is Action.DELETE:
                warnings.append("deleting an environment deletes its secrets (hard delete)")
            if change.address.kind == "app" and change.action is Action.DELETE:
                warnings.append("deleting an app deletes all its environments and secrets")
            out.append(dataclasses.replace(change, warnings=change.warnings + tuple(warnings)))
        return out

    def _resend_after_new_envs(
        self, changes: list[Change], desired: State, live: State
    ) -> list[Change]:
        new_envs: dict[str, list[Address]] = {}
        for c in changes:
            if c.address.kind == "environment" and c.action is Action.CREATE:
                new_envs.setdefault(c.address.name.split("/", 1)[0], []).append(c.address)
        if not new_envs:
            return changes
        by_address = {c.address: i for i, c in enumerate(changes)}
        for sa in live.of_kind(NAME, "service_account"):
            apps = set(_access(sa.attributes)) & set(new_envs)
            if not apps or sa.address not in desired:
                continue
            after = tuple(sorted(a for app in apps for a in new_envs[app]))
            details = {"resend_access": True}
            note = "access re-sent after new environments: the server gives them to the app's SAs"
            if sa.address in by_address:
                i = by_address[sa.address]
                c = changes[i]
                changes[i] = dataclasses.replace(
                    c, depends_on=c.depends_on + after, details={**c.details, **details}
                )
            else:
                changes.append(
                    Change(
                        Action.UPDATE,
                        sa.address,
                        desired=desired[sa.address],
                        live=sa,
                        depends_on=after,
                        details=details,
                        warnings=(note,),
                    )
                )
        return changes

    def check(self, changes: Sequence[Change], desired: State, live: State) -> list[Violation]:
        """Owner protection, self-lockout, E2EE hazards, SA limits (pure)."""
        out: list[Violation] = []
        e2ee = {
            r.address.name for r in live.of_kind(NAME, "app") if r.attributes.get("sse") is False
        }
        e2ee |= {
            r.address.name for r in desired.of_kind(NAME, "app") if r.attributes.get("sse") is False
        }
        caller = self.index.caller_email
        for change in changes:
            a = change.address
            live_attrs = change.live.attributes if change.live else {}
            want = change.desired.attributes if change.desired else {}
            if a.kind == "app" and change.action is Action.CREATE and want.get("sse") is False:
                out.append(
                    Violation(
                        "e2ee",
                        (a,),
                        "end-to-end encrypted apps cannot be created through the API; "
                        "create it in the console or declare sse: true",
                    )
                )
            if (
                a.kind == "app"
                and change.action is Action.UPDATE
                and live_attrs.get("sse") is False
                and want.get("sse") is True
            ):
                out.append(
                    Violation(
                        "e2ee",
                        (a,),
                        "enabling SSE on an E2EE app needs client-side re-wrapping, "
                        "which this version does not do",
                    )
                )
            if (
                a.kind == "member"
                and live_attrs.get("role") == "Owner"
                and change.action in (Action.UPDATE, Action.DELETE)
            ):
                out.append(
                    Violation("owner", (a,), "the organisation owner is never changed or removed")
                )
            if (
                a.kind == "member"
                and caller is not None
                and a.name == caller
                and change.action in (Action.UPDATE, Action.DELETE)
            ):
                out.append(
                    Violation(
                        "self",
                        (a,),
                        "the applying principal never changes its own role, access or membership",
                    )
                )
            if (
                a.kind in ("member", "service_account", "team")
                and change.action is not Action.DELETE
            ):
                for app in sorted(set(_access(want)) & e2ee):
                    out.append(
                        Violation(
                            "e2ee",
                            (a,),
                            f"grants access to E2EE app {app!r}; REST cannot grant E2EE access "
                            "(it needs client-side re-wrapping)",
                        )
                    )
            if a.kind in ("member", "service_account") and change.action is Action.UPDATE:
                touches_access = any(d.path.split(".")[0] == "access" for d in change.diffs) or (
                    a.kind == "member" and _promotes(change)
                )
                held = sorted(set(_access(live_attrs)) & e2ee)
                if touches_access and held:
                    out.append(
                        Violation(
                            "e2ee",
                            (a,),
                            f"holds access to E2EE app {held[0]!r}: an access PUT would revoke it "
                            "and wipe its keys; change this principal's access in the console",
                        )
                    )
            if self.token.kind == "service":
                if (
                    a.kind == "member"
                    and n.is_global(str(want.get("role")))
                    and change.action is Action.UPDATE
                ):
                    out.append(
                        Violation(
                            "sa_caller",
                            (a,),
                            "a service-account token cannot assign global-access roles; "
                            "use an Owner/Admin PAT",
                        )
                    )
                if (
                    a.kind == "member"
                    and n.is_global(str(live_attrs.get("role")))
                    and change.action is not Action.CREATE
                ):
                    out.append(
                        Violation(
                            "sa_caller",
                            (a,),
                            "a service-account token cannot change Owner or Admin members",
                        )
                    )
        return out

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
            raise ProviderError(
                address, f"no live {table[:-1]} {key!r} (was it deleted meanwhile?)"
            )
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
                    "environments": [self._id("envs", n.env_key(app, e), address) for e in envs],
                }
            )
        return {"apps": apps}

    def _all_sse_access(self) -> dict[str, list[str]]:
        with self.lock:
            out: dict[str, list[str]] = {}
            for key in self.index.envs:
                app, env = key.split("/", 1)
                if self.index.app_sse.get(app):
                    out.setdefault(app, []).append(env)
            return out

    def _adopt_or_post(
        self, address: Address, lookup: Callable[[], str | None], post: Callable[[], Any]
    ) -> Any:
        """POST; if it fails without a clear client error (5xx, dropped connection) the POST may
        have been executed, so look the object up by name and adopt it, else POST again (at most
        three attempts). The plan was made from a fresh read, so no lookup is needed first."""
        for attempt in range(3):
            try:
                return post()
            except ProviderError as exc:
                if exc.status is not None and exc.status < 500:
                    raise
                existing = lookup()
                if existing is not None:
                    return {"id": existing, "adopted": True}
                if attempt == 2:
                    raise
        raise ProviderError(address, "unreachable")

    # roles -------------------------------------------------------------------------------

    def _role(self, change: Change) -> Outcome:
        a = change.address
        if change.action is Action.DELETE:
            self.client.request(
                "DELETE", f"/v1/roles/{_live_id(change)}/", address=a, ok_missing=True
            )
            return Outcome()
        want = change.resource.attributes
        body = {
            "name": a.name,
            "description": want["description"],
            "color": want["color"],
            "permissions": {
                "permissions": want["permissions"],
                "app_permissions": want["app_permissions"],
            },
        }
        if change.action is Action.CREATE:
            made = self.client.request("POST", "/v1/roles/", body=body, address=a)
            self._remember("roles", a.name, made["id"])
            return Outcome(server_id=made["id"])
        role_id = self._id("roles", a.name, a)
        self.client.request("PUT", f"/v1/roles/{role_id}/", body=body, address=a)
        return Outcome(server_id=role_id)

    # apps and environments ---------------------------------------------------------------

    def _find_app(self, name: str) -> str | None:
        apps = self.client.get("/v1/apps/")["data"]
        found = [x["id"] for x in apps if x["name"] == name]
        return found[0] if len(found) == 1 else None

    def _app(self, change: Change) -> Outcome:
        a = change.address
        if change.action is Action.DELETE:
            self.client.request(
                "DELETE", f"/v1/apps/{_live_id(change)}/", address=a, ok_missing=True
            )
            return Outcome()
        want = change.resource.attributes
        if change.action is Action.CREATE:
            envs = _names(change.resource.meta.get("environments"))
            body: dict[str, Any] = {"name": a.name}
            if want.get("description"):
                body["description"] = want["description"]
            if envs and envs != n.DEFAULT_ENVIRONMENTS:
                body["environments"] = envs
            made = self._adopt_or_post(
                a,
                lambda: self._find_app(a.name),
                lambda: self.client.request("POST", "/v1/apps/", body=body, address=a),
            )
            self._remember("apps", a.name, made["id"])
            with self.lock:
                self.index.app_sse[a.name] = True
            if made.get("adopted"):
                self._learn_envs(a.name, made["id"])
            for env in made.get("environments", []):
                self._remember("envs", n.env_key(a.name, env["name"]), env["id"])
            return Outcome(
                server_id=made["id"],
                message="adopted existing app" if made.get("adopted") else None,
            )
        app_id = self._id("apps", a.name, a)
        body = {}
        for d in change.diffs:
            if d.path in ("name", "description"):
                body[d.path] = want[d.path] if want[d.path] is not None else ""
        if body:
            self.client.request("PUT", f"/v1/apps/{app_id}/", body=body, address=a)
        return Outcome(server_id=app_id)

    def _learn_envs(self, app: str, app_id: str) -> list[Mapping[str, Any]]:
        envs: list[Mapping[str, Any]] = self.client.get(
            "/v1/environments/", params={"app_id": app_id}
        )["data"]
        for env in envs:
            self._remember("envs", n.env_key(app, env["name"]), env["id"])
        return envs

    def _environment(self, change: Change) -> Outcome:
        a = change.address
        app = a.name.split("/", 1)[0]
        if change.action is Action.DELETE:
            self.client.request(
                "DELETE", f"/v1/environments/{_live_id(change)}/", address=a, ok_missing=True
            )
            return Outcome()
        want_name = str(change.resource.attributes["name"])
        if change.action is Action.CREATE:
            with self.lock:
                known = self.index.envs.get(a.name)
            if known is not None:  # created with its app, in the same request
                return Outcome(server_id=known)
            app_id = self._id("apps", app, a)
            made = self.client.request(
                "POST",
                "/v1/environments/",
                params={"app_id": app_id},
                body={"name": want_name},
                address=a,
            )
            self._remember("envs", a.name, made["id"])
            return Outcome(server_id=made["id"])
        env_id = self._id("envs", a.name, a)
        self.client.request(
            "PUT", f"/v1/environments/{env_id}/", body={"name": want_name}, address=a
        )
        return Outcome(server_id=env_id)

    # service accounts and tokens ----------------------------------------------------------

    def _find_sa(self, name: str) -> str | None:
        found = [
            s["id"] for s in self.client.get("/v1/service-accounts/")["data"] if s["name"] == name
        ]
        return found[0] if len(found) == 1 else None

    def _service_account(self, change: Change) -> Outcome:
        a = change.address
        if change.action is Action.DELETE:
            self.client.request(
                "DELETE", f"/v1/service-accounts/{_live_id(change)}/", address=a, ok_missing=True
            )
            return Outcome()
        want = change.resource.attributes
        role_id = self._role_id(str(want["role"]), a)
        if change.action is Action.CREATE:
            tokens = _names(change.resource.meta.get("tokens"))
            body = {
                "name": a.name,
                "role_id": role_id,
                "token_name": tokens[0] if tokens else "Default",
            }
            made = self._adopt_or_post(
                a,
                lambda: self._find_sa(a.name),
                lambda: self.client.request("POST", "/v1/service-accounts/", body=body, address=a),
            )
            sa_id = made["id"]
            self._remember("sas", a.name, sa_id)
            initial = made.get("initialToken")
            if initial is not None:
                if tokens:
                    with self.lock:
                        self._minted[n.env_key(a.name, tokens[0])] = initial["token"]
                    self._remember("tokens", n.env_key(a.name, tokens[0]), initial["id"])
                else:
                    # Nobody can ever use a secret that was shown once and not stored.
                    self.client.request(
                        "DELETE",
                        f"/v1/service-accounts/{sa_id}/tokens/{initial['id']}/",
                        address=a,
                        ok_missing=True,
                    )
            full = _grants(change.resource.meta.get("access"))
            if full:
                self.client.request(
                    "PUT",
                    f"/v1/service-accounts/{sa_id}/access/",
                    body=self._access_body(full, a),
                    address=a,
                )
            return Outcome(server_id=sa_id)
        sa_id = self._id("sas", a.name, a)
        paths = {d.path.split(".")[0] for d in change.diffs}
        if "role" in paths:
            self.client.request(
                "PUT", f"/v1/service-accounts/{sa_id}/", body={"role_id": role_id}, address=a
            )
        if "access" in paths or change.live is None or change.details.get("resend_access"):
            self.client.request(
                "PUT",
                f"/v1/service-accounts/{sa_id}/access/",
                body=self._access_body(_grants(change.resource.meta.get("access")), a),
                address=a,
            )
        return Outcome(server_id=sa_id)

    def _token(self, change: Change) -> Outcome:
        a = change.address
        sa_name, token_name = a.name.split("/", 1)
        if change.action is Action.DELETE:
            sa_id = self._id("sas", sa_name, a) if sa_name in self.index.sas else None
            if sa_id is not None:
                self.client.request(
                    "DELETE",
                    f"/v1/service-accounts/{sa_id}/tokens/{_live_id(change)}/",
                    address=a,
                    ok_missing=True,
                )
            return Outcome()
        meta = change.resource.meta
        sa_id = self._id("sas", sa_name, a)
        with self.lock:
            minted = self._minted.pop(a.name, None)
        if change.action is Action.CREATE and minted is not None:
            self._store(a, meta.get("store"), Secret(minted))
            return Outcome(
                server_id=self.index.tokens.get(a.name),
                message="stored the service account's initial token",
            )
        body: dict[str, Any] = {"name": token_name}
        days = meta.get("expires_in_days")
        if isinstance(days, int):
            body["expires_in"] = days * 86400
        made = self.client.request(
            "POST", f"/v1/service-accounts/{sa_id}/tokens/", body=body, address=a
        )
        self._store(a, meta.get("store"), Secret(made["token"]))
        self._remember("tokens", a.name, made["id"])
        if change.action is Action.UPDATE and change.live is not None and change.live.id:
            # rotation: the new token is stored; only now retire the old one
            self.client.request(
                "DELETE",
                f"/v1/service-accounts/{sa_id}/tokens/{_live_id(change)}/",
                address=a,
                ok_missing=True,
            )
            return Outcome(
                server_id=made["id"], message="rotated: new token stored, old token deleted"
            )
        return Outcome(server_id=made["id"])

    def _store(self, address: Address, store: Any, secret: Secret) -> None:
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
        item = {
            "key": str(store["key"]),
            "value": secret.reveal(),
            "path": str(store.get("path", "/")),
        }
        try:
            self.client.request(
                "POST", "/v1/secrets/", params=params, body={"secrets": [item]}, address=address
            )
        except ProviderError as exc:
            if exc.status != 409:
                raise
            self.client.request(
                "PUT", "/v1/secrets/", params=params, body={"secrets": [item]}, address=address
            )

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
        role_id = self._role_id(str(want["role"]), a)
        if change.action is Action.CREATE:
            try:
                made = self.client.request(
                    "POST",
                    "/v1/members/invites/",
                    body={"email": a.name, "role_id": role_id},
                    address=a,
                )
            except ProviderError as exc:
                if exc.status != 409:
                    raise
                return Outcome(pending="invite already sent; waits for acceptance")
            return Outcome(server_id=made["id"], pending="invite sent; waits for acceptance")
        member_id = self._id("members", a.name, a)
        live_role = str(change.live.attributes.get("role")) if change.live else None
        role_changes = want["role"] != live_role
        access = change.resource.meta.get("access")
        access_changes = any(d.path.split(".")[0] == "access" for d in change.diffs)
        promote = role_changes and n.is_global(str(want["role"])) and not n.is_global(live_role)
        demote = role_changes and n.is_global(live_role) and not n.is_global(str(want["role"]))
        try:
            if promote:
                # keys for every existing SSE environment first: REST role changes grant none
                self.client.request(
                    "PUT",
                    f"/v1/members/{member_id}/access/",
                    body=self._access_body(self._all_sse_access(), a),
                    address=a,
                )
            if role_changes:
                self.client.request(
                    "PUT", f"/v1/members/{member_id}/", body={"role_id": role_id}, address=a
                )
            if (access_changes or demote) and not n.is_global(str(want["role"])):
                self.client.request(
                    "PUT",
                    f"/v1/members/{member_id}/access/",
                    body=self._access_body(_grants(access), a),
                    address=a,
                )
        except ProviderError as exc:
            if exc.status == 400 and "identity key" in exc.message:
                return Outcome(pending="member has not set up their identity key yet")
            raise
        return Outcome(server_id=member_id)

    # teams -------------------------------------------------------------------------------

    def _find_team(self, name: str) -> str | None:
        found = [t["id"] for t in self.client.get("/v1/teams/")["data"] if t["name"] == name]
        return found[0] if len(found) == 1 else None

    def _team(self, change: Change) -> Outcome:
        a = change.address
        if change.action is Action.DELETE:
            self.client.request(
                "DELETE", f"/v1/teams/{_live_id(change)}/", address=a, ok_missing=True
            )
            return Outcome()
        want = change.resource.attributes
        fields = {
            "description": want["description"],
            "member_role_id": self._role_id(_opt(want["member_role"]), a) or "",
            "service_account_role_id": self._role_id(_opt(want["service_account_role"]), a) or "",
        }
        have: Mapping[str, Any] = change.live.attributes if change.live else {}
        if change.action is Action.CREATE:
            body = {"name": a.name, **{k: v for k, v in fields.items() if v}}
            made = self._adopt_or_post(
                a,
                lambda: self._find_team(a.name),
                lambda: self.client.request("POST", "/v1/teams/", body=body, address=a),
            )
            team_id = made["id"]
            self._remember("teams", a.name, team_id)
            have = {"members": [], "service_accounts": [], "access": {}}
        else:
            team_id = self._id("teams", a.name, a)
            changed = {d.path.split(".")[0] for d in change.diffs}
            put = {}
            if "description" in changed:
                put["description"] = fields["description"]
            if "member_role" in changed:
                put["member_role_id"] = fields["member_role_id"]
            if "service_account_role" in changed:
                put["service_account_role_id"] = fields["service_account_role_id"]
            if put:
                self.client.request("PUT", f"/v1/teams/{team_id}/", body=put, address=a)
        for kind, key, table in (
            ("user", "members", "members"),
            ("service_account", "service_accounts", "sas"),
        ):
            wanted, current = set(_names(want[key])), set(_names(have.get(key)))
            add = sorted(wanted - current)
            if add:
                ids = [self._id(table, x, a) for x in add]
                self.client.request(
                    "POST",
                    f"/v1/teams/{team_id}/members/",
                    body={"member_type": kind, "member_ids": ids},
                    address=a,
                )
            for gone in sorted(current - wanted):
                gone_id = self._id(table, gone, a)
                self.client.request(
                    "DELETE",
                    f"/v1/teams/{team_id}/members/{gone_id}/",
                    params={"member_type": kind},
                    address=a,
                    ok_missing=True,
                )
        if want["access"] != have.get("access"):
            self.client.request(
                "PUT",
                f"/v1/teams/{team_id}/access/",
                body=self._access_body(_grants(want["access"]), a),
                address=a,
            )
        return Outcome(server_id=team_id)


def _live_id(change: Change) -> str:
    if change.live is None or change.live.id is None:
        raise ProviderError(change.address, "no live id to act on")
    return change.live.id


def _grants(value: JSON | None) -> dict[str, list[str]]:
    """An ``access`` attribute as ``{app: [env, ...]}``."""
    if not isinstance(value, Mapping):
        return {}
    return {str(k): _names(v) for k, v in value.items()}


def _names(value: JSON | None) -> list[str]:
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return []


def _opt(value: JSON | None) -> str | None:
    return None if value is None else str(value)


def _access(attrs: Mapping[str, JSON]) -> Mapping[str, JSON]:
    value = attrs.get("access")
    return value if isinstance(value, Mapping) else {}


def _promotes(change: Change) -> bool:
    want = change.desired.attributes.get("role") if change.desired else None
    have = change.live.attributes.get("role") if change.live else None
    return n.is_global(str(want)) and not n.is_global(str(have))
