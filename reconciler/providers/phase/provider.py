"""PhaseProvider: plans and applies changes to one Phase organisation (contracts/phase.md §5, §8).

Rules enforced here, each with its reason (``check`` refuses a plan that would break one; apply
guards the dangerous ones again):

* Access updates replace a principal's whole set (§8 item 2), so every access update sends the
  complete desired individual set, never a delta.
* An access update for a principal holding access to an end-to-end encrypted (E2EE) app would
  revoke that access and wipe its keys (§8 item 1). Without a console session it is refused,
  naming the principal and the app; so is any grant on an E2EE app, and any change to an E2EE
  app's environments (REST cannot). With one (``connection.email``/``password``, a PAT), E2EE
  grants are made by re-wrapping environment keys here (``e2ee.py``), such a principal's access
  changes app by app through the console and never by a REST update, environments of E2EE apps
  are created (with a fresh key), renamed and deleted through the console, and ``sse: true``
  on an E2EE app enables server-side encryption. Plans show each wrap with the recipient's
  key fingerprint and the key holder; a plan is refused when the applier holds no key for an
  environment it must wrap, or when it would leave an environment with no key holder; apply
  refuses a recipient whose identity key changed since the plan.
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
from reconciler.crypto.keyring import key_fingerprint
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
from reconciler.providers.phase.console import Console, Identities
from reconciler.providers.phase.e2ee import (
    AccessSteps,
    HeldKey,
    KeyHolder,
    access_steps,
    held_keys,
)
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
        console: tuple[str, Secret] | None = None,
        **client: Any,
    ) -> None:
        self.url = url.rstrip("/")
        self.token: PhaseToken = parse_token(token.reveal())
        self.client = PhaseClient(self.url, self.token, rate_limit, **client)
        self.store = store
        # the console session (email, password): identity keys and E2EE operations
        self.console = (
            Console(self.client, console[0], console[1], self.organisation) if console else None
        )
        self._holder: KeyHolder | None = None
        self._identities_now: Identities | None = None  # read again at apply time
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
                keys = self._read_keys()
            except ProviderError:
                return None
            self._org = keys.organisation.id if keys.organisation else None
        return self._org

    def target(self) -> str:
        """``phase:<url>#<organisation id>`` (the token's public key when the server does not
        say which organisation it is)."""
        return f"phase:{self.url}#{self.organisation() or 'token-' + self.token.kx_public[:16]}"

    @property
    def e2ee(self) -> bool:
        """E2EE grants are managed: a console session, and a user's token (whose keys can be
        recovered to re-wrap environment keys)."""
        return self.console is not None and self.token.kind == "user"

    def read(self, desired: State, only: frozenset[Address] | None = None) -> State:
        """The whole organisation (``only`` is not used: a full read is a few list requests
        plus the details lists lack, and apply needs every id)."""
        identities = self.console.identities() if self.console is not None else None
        state, index = read_live(self.client, desired, self.store, identities, self.e2ee)
        with self.lock:
            self.index = index
            self._read_once = True
            self._org = self._org or index.organisation
            if self._holder is not None:
                self._holder.close()
                self._holder = None
            self._identities_now = None
        return state

    def stats(self) -> dict[str, JSON]:
        return dict(self.client.counts)

    def close(self) -> None:
        if self._holder is not None:
            self._holder.close()
        self.client.close()

    # -- protocol: planning hooks ------------------------------------------------------------

    def refine(self, changes: Sequence[Change], desired: State, live: State) -> list[Change]:
        """Drop deletes the server does by cascade (or that belong to unmanaged parents),
        re-send service-account access after new environments, add warnings (pure)."""
        kept = [c for c in changes if not _cascaded(c, desired)]
        kept = _resend_after_new_envs(kept, desired, live, self.index.caller_sa)
        e2ee = self._e2ee_apps(desired, live)
        out = []
        for change in kept:
            warnings = self._warnings(change)
            details, more = self._e2ee_notes(change, e2ee)
            out.append(
                dataclasses.replace(
                    change,
                    warnings=change.warnings + tuple(warnings) + tuple(more),
                    details={**change.details, **details},
                )
            )
        return out

    # -- E2EE planning (pure) ----------------------------------------------------------------

    def _e2ee_apps(self, desired: State, live: State) -> set[str]:
        """Apps end-to-end encrypted once this plan is applied: live E2EE apps (and apps
        declared ``sse: false``), except those whose SSE the plan enables."""
        declared = {r.address.name: r.attributes.get("sse") for r in desired.of_kind(NAME, "app")}
        out = {a for a, sse in declared.items() if sse is False}
        for r in live.of_kind(NAME, "app"):
            name = r.address.name
            if r.attributes.get("sse") is False and not (self.e2ee and declared.get(name)):
                out.add(name)
        return out

    def _steps(
        self, change: Change, e2ee: set[str], want: Mapping[str, JSON] | None = None
    ) -> AccessSteps | None:
        """The access steps of a member or service-account change (``None``: none sent).
        ``want``: the set to send (default: the desired one, or every environment on
        promotion)."""
        a, act = change.address, change.action
        if a.kind not in ("member", "service_account") or change.desired is None:
            return None
        if act is Action.DEFERRED or (a.kind == "member" and act is Action.CREATE):
            return None
        if want is None:
            promote = a.kind == "member" and _promotes(change, self.index.global_roles)
            diffs = {d.path.split(".")[0] for d in change.diffs}
            resend = bool(change.details.get("resend_access"))
            if act is Action.UPDATE and not (promote or resend or "access" in diffs):
                return None
            want = (
                self._promotion_access(e2ee)
                if promote
                else _mapping(change.desired.meta.get("access"))
            )
        live = change.live
        in_apps = set(_strings(live.meta.get("apps"))) if live else set()
        guarded = _strings(live.attributes.get("e2ee_access")) if live else []
        return access_steps(
            in_apps,
            _grant_map(live.meta.get("access")) if live else {},
            _grant_map(want),
            e2ee,
            unseen=any(g.startswith("?") for g in guarded),
            force=frozenset(in_apps) if change.details.get("resend_access") else frozenset(),
        )

    def _key_holder_label(self) -> str:
        ids = self.index.identities
        key = ids.of("user", self.index.caller_id) if ids is not None else None
        who = self.index.caller_email or "the applying principal"
        return f"{who} ({key_fingerprint(key)})" if key else who

    def _e2ee_notes(self, change: Change, e2ee: set[str]) -> tuple[dict[str, JSON], list[str]]:
        """Plan details of E2EE work (what is wrapped, for which key, from whose key) and
        revocation warnings."""
        details: dict[str, JSON] = {}
        warnings: list[str] = []
        a, act = change.address, change.action
        if not self.e2ee:
            return details, warnings
        steps = self._steps(change, e2ee)
        if steps is not None and steps.wrapped():
            recipient = change.live.attributes.get("identity_key") if change.live else None
            details["e2ee_wrap"] = [n.env_key(app, env) for app, env in steps.wrapped()]
            details["e2ee_recipient_key"] = recipient or "(read when the account exists)"
            details["e2ee_key_holder"] = self._key_holder_label()
        if steps is not None and steps.put is None and steps.steps:
            details["e2ee_console_steps"] = [
                f"{s.op} {s.app}" + (f": {', '.join(s.environments)}" if s.environments else "")
                for s in steps.steps
            ]
        if a.kind in ("member", "service_account") and change.live is not None:
            had = _grant_map(change.live.meta.get("access"))
            keep = (
                _grant_map(change.desired.meta.get("access"))
                if act is not Action.DELETE and change.desired is not None
                else {}
            )
            promoted = a.kind == "member" and _promotes(change, self.index.global_roles)
            if act is Action.UPDATE and promoted:
                keep = had
            revoked = [
                n.env_key(app, env)
                for app in sorted(set(had) & e2ee)
                for env in had[app]
                if env not in keep.get(app, [])
            ]
            if revoked and act is not Action.DEFERRED:
                warnings.append(
                    f"revokes end-to-end encrypted access to {', '.join(revoked)}: revocation is "
                    "not rotation; the former holder may have kept the environment key and what "
                    "it decrypts, so rotate those secrets if that matters"
                )
        enables = any(d.path == "sse" and d.after is True for d in change.diffs)
        if a.kind == "app" and act is Action.UPDATE and enables:
            details["enable_sse"] = (
                "every environment key is wrapped for the server's key (initEnvSync), "
                f"unwrapped from {self._key_holder_label()}"
            )
            warnings.append(
                "enabling server-side encryption is one-way: the server can decrypt this "
                "app's secrets from then on"
            )
        if a.kind == "environment" and act is Action.CREATE and n.split_key(a.name)[0] in e2ee:
            ids = self.index.identities or Identities()
            emails = {v: k for k, v in self.index.members.items()}
            holders = sorted(
                emails.get(mid, mid)
                for mid, role in ids.roles.items()
                if n.is_global(role, self.index.global_roles) and ids.members.get(mid)
            )
            details["e2ee_new_key"] = (
                "generated here and wrapped for the global-access members: " + ", ".join(holders)
            )
        return details, warnings

    def _e2ee_violations(
        self, changes: Sequence[Change], live: State, e2ee: set[str], made: set[Address | str]
    ) -> list[Violation]:
        """The applier must hold a key for every environment it wraps; no environment may be
        left without a key holder."""
        out: list[Violation] = []
        holders: dict[str, set[Address]] = {}
        for r in live.resources():
            if r.address.kind in ("member", "service_account"):
                for app, envs in _grant_map(r.meta.get("access")).items():
                    if app in e2ee:
                        for env in envs:
                            holders.setdefault(n.env_key(app, env), set()).add(r.address)
        before = {k: set(v) for k, v in holders.items()}
        for change in changes:
            a = change.address
            steps = self._steps(change, e2ee)
            if steps is not None:
                missing = [
                    key
                    for key in (n.env_key(app, env) for app, env in steps.wrapped())
                    if key not in self.index.held and key not in made
                ]
                if missing:
                    out.append(
                        Violation(
                            "e2ee_key",
                            (a,),
                            f"the applying principal holds no key for {', '.join(missing)}, so "
                            "it cannot wrap one for this principal (a key holder grants it in "
                            "the console, or grants the applier first)",
                        )
                    )
            if a.kind not in ("member", "service_account") or change.action is Action.DEFERRED:
                continue
            for held in holders.values():
                held.discard(a)
            if change.action is not Action.DELETE and change.desired is not None:
                for app, envs in _grant_map(change.desired.meta.get("access")).items():
                    if app in e2ee:
                        for env in envs:
                            holders.setdefault(n.env_key(app, env), set()).add(a)
        for env, was in sorted(before.items()):
            if was and not holders.get(env) and env not in self.index.held:
                out.append(
                    Violation(
                        "e2ee_holder",
                        tuple(sorted(was, key=str)),
                        f"{env} would be left with no key holder (the applying principal holds "
                        "none): nobody could decrypt its secrets again; keep one holder",
                    )
                )
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
        e2ee = self._e2ee_apps(desired, live)
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
        if self.e2ee:
            out.extend(self._e2ee_violations(changes, live, e2ee, created))
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

        console = (
            "set connection.email and connection.password (the console login of the token's "
            "user) so that reconciler re-wraps the keys"
            if self.token.kind == "user"
            else "that needs an Owner or Admin PAT with connection.email and connection.password"
        )
        # E2EE apps: REST cannot create them, change them, their environments or their grants.
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
                if want.get("sse") is False:
                    refuse("e2ee", "server-side encryption cannot be turned off (one-way)")
                elif not self.e2ee:
                    refuse("e2ee", f"enabling server-side encryption needs the console: {console}")
                else:
                    prefix = a.name + "/"
                    envs = [r.address.name for r in live.of_kind(NAME, "environment")]
                    missing = [e for e in envs if e.startswith(prefix) and e not in self.index.held]
                    if missing:
                        refuse(
                            "e2ee_key",
                            "enabling server-side encryption needs a key for every environment; "
                            f"the applying principal holds none for {', '.join(missing)}",
                        )
            if act is Action.UPDATE and a.name in e2ee and diffs & {"name", "description"}:
                refuse(
                    "e2ee",
                    "the API cannot rename or describe an end-to-end encrypted app; change it in "
                    "the console (or enable server-side encryption with sse: true)",
                )
            if act is Action.DELETE and have.get("sse") is False:
                refuse("e2ee", "end-to-end encrypted apps cannot be deleted through the API")
        if (
            a.kind == "environment"
            and n.split_key(a.name)[0] in e2ee
            and act is not Action.DEFERRED
            and not self.e2ee
        ):
            refuse(
                "e2ee",
                "environments of an end-to-end encrypted app are created, renamed and deleted "
                f"through the console: {console}",
            )
        if a.kind in ("member", "service_account", "team") and act is not Action.DELETE:
            for app in sorted(set(_mapping(want.get("access"))) & e2ee):
                if a.kind == "team":
                    refuse(
                        "e2ee",
                        f"grants access to end-to-end encrypted app {app!r}: teams can hold only "
                        "apps with server-side encryption; grant the team's members one by one",
                    )
                elif not self.e2ee:
                    refuse(
                        "e2ee",
                        f"grants access to end-to-end encrypted app {app!r}: the API cannot "
                        f"grant it (the keys are re-wrapped by a key holder); {console}",
                    )
        if a.kind in ("member", "service_account") and act is Action.UPDATE and not self.e2ee:
            sends_access = "access" in diffs or bool(change.details.get("resend_access"))
            if a.kind == "member" and (
                _promotes(change, self.index.global_roles)
                or _promotes(change, self.index.global_roles, demotion=True)
            ):
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

    def _promotion_access(self, e2ee: set[str]) -> dict[str, list[str]]:
        """What a member promoted to a global-access role is given first: every SSE
        environment, and with E2EE support every E2EE one the applier holds a key for."""
        with self.lock:
            out: dict[str, list[str]] = {}
            for key in self.index.envs:
                app, env = n.split_key(key)
                if app not in e2ee or (self.e2ee and key in self.index.held):
                    out.setdefault(app, []).append(env)
            return out

    def _live_e2ee(self) -> set[str]:
        with self.lock:
            return {app for app, sse in self.index.app_sse.items() if not sse}

    def _send_access(
        self, change: Change, path: str, kind: str, principal_id: str, want: Mapping[str, JSON]
    ) -> None:
        """Give a member (``kind`` ``user``) or service account (``service``) exactly ``want``:
        a REST update when it is safe, console steps for E2EE apps (see ``e2ee.py``)."""
        if not self.e2ee:
            self._put_access(path, change, want)
            return
        a = change.address
        steps = self._steps(change, self._live_e2ee(), want)
        assert steps is not None
        if steps.put is not None:
            body = self._access_body(steps.put, a)
            self.client.request("PUT", path, body=body, address=a)
        if not steps.steps:
            return
        assert self.console is not None
        identity = ""
        if steps.wrapped():
            identity = self._recipient_key(change, kind, principal_id)
        holder = self._keys()
        needed = {n.env_key(app, env) for app, env in steps.wrapped()}
        if not needed <= holder.rows.keys():
            self._refresh_held()  # environments this run created hold the applier's key
        for step in steps.steps:
            envs = {
                n.env_key(step.app, e): self._id("envs", n.env_key(step.app, e), a)
                for e in step.environments
            }
            keys = holder.env_keys(envs, principal_id, identity, a) if envs else []
            app_id = self._id("apps", step.app, a)
            self.console.set_app_access(step.op, kind, principal_id, app_id, keys, a)

    def _read_keys(self) -> p.KeysView:
        """The applier's key rows as the server has them now (``/secrets/tokens/``)."""
        return p.parse(
            p.KeysView,
            self.client.request("GET", "/secrets/tokens/", address=NAME, root=True),
            NAME,
            "GET /secrets/tokens/",
        )

    def _refresh_held(self, keys: p.KeysView | None = None) -> None:
        """Record the applier's key rows (read again unless given) for the known environments."""
        rows = held_keys(keys if keys is not None else self._read_keys())
        with self.lock:
            for key, env_id in self.index.envs.items():
                if env_id in rows:
                    self.index.held[key] = rows[env_id]

    def _keys(self) -> KeyHolder:
        """The applier's keys, recovered on first use (one per read)."""
        with self.lock:
            if self._holder is None:
                self._holder = KeyHolder.recover(
                    self.token, self.index.wrapped_key_share, self.index.held
                )
            return self._holder

    def _identities(self, refresh: bool = False) -> Identities:
        """Identity keys as the server has them now (read once per apply, again on demand)."""
        assert self.console is not None
        with self.lock:
            if self._identities_now is None or refresh:
                found = self.console.identities()
                if found is None:
                    raise ProviderError(NAME, "the console did not say which organisation this is")
                self._identities_now = found
            return self._identities_now

    def _recipient_key(self, change: Change, kind: str, principal_id: str) -> str:
        """The recipient's identity key, refused when it is not the one the plan showed."""
        a = change.address
        key = self._identities().of(kind, principal_id)
        if key is None:
            key = self._identities(refresh=True).of(kind, principal_id)  # created by this run
        if key is None:
            raise ProviderError(
                a, "has no identity key yet (no login since the invite): no key can be wrapped"
            )
        planned = change.live.attributes.get("identity_key") if change.live else None
        if planned is not None and planned != key_fingerprint(key):
            raise ProviderError(
                a,
                f"identity key changed since the plan ({planned} -> {key_fingerprint(key)}): "
                "refusing to wrap environment keys for it; check who holds this account, then "
                "plan again",
            )
        return key

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
        if any(d.path == "sse" for d in change.diffs) and want.get("sse") is True:
            self._enable_sse(change, app_id)
        body = {}
        for d in change.diffs:
            if d.path in ("name", "description"):
                body[d.path] = want[d.path] if want[d.path] is not None else ""
        if body:
            self.client.request("PUT", f"/v1/apps/{app_id}/", body=body, address=a)
        return Outcome(server_id=app_id)

    def _enable_sse(self, change: Change, app_id: str) -> None:
        """Wrap every environment key of an E2EE app for the server, then ``initEnvSync``:
        from then on the REST API manages the app."""
        a = change.address
        if not self.e2ee:
            raise ProviderError(a, "enabling server-side encryption needs a console session")
        assert self.console is not None
        with self.lock:
            envs = {k: v for k, v in self.index.envs.items() if n.split_key(k)[0] == a.name}
        server = self.console.server_public_key()
        keys = self._keys().server_keys(envs, server, a)
        self.console.init_env_sync(app_id, keys, a)
        with self.lock:
            self.index.app_sse[a.name] = True

    def _create_e2ee_environment(self, change: Change, app_id: str, name: str) -> Outcome:
        """A new environment of an E2EE app, as the console makes one: a fresh key, wrapped
        for the owner (the environment's own copy) and every other global-access member."""
        a = change.address
        assert self.console is not None
        ids = self._identities()
        owners = [m for m, role in ids.roles.items() if role == "Owner" and ids.members.get(m)]
        if not owners:
            raise ProviderError(a, "the organisation owner has no identity key to wrap for")
        recipients = {
            m: str(ids.members[m])
            for m, role in ids.roles.items()
            if n.is_global(role, self.index.global_roles) and ids.members.get(m)
        }
        public, wrapped = self._keys().new_environment(recipients)
        owner = owners[0]
        env_input = {
            "appId": app_id,
            "name": name,
            "envType": "custom",
            "wrappedSeed": wrapped[owner][0],
            "wrappedSalt": wrapped[owner][1],
            "identityKey": public,
        }
        admin_keys = [
            {
                "envId": "",
                "userId": m,
                "identityKey": public,
                "wrappedSeed": seed,
                "wrappedSalt": salt,
            }
            for m, (seed, salt) in sorted(wrapped.items())
            if m != owner
        ]
        try:
            env_id = self.console.create_environment(env_input, admin_keys, a)
        except ProviderError as exc:
            # The answer may be lost after the environment was made: adopt it by name (its
            # key, wrapped for the applier, is then in the applier's key rows).
            found = self._find_held_env(app_id, name, a.name) if ambiguous(exc) else None
            if found is None:
                raise
            return Outcome(server_id=found, message="adopted existing environment")
        with self.lock:
            self.index.envs[a.name] = env_id
            mine = wrapped.get(self.index.caller_id)
            if mine is not None:  # the applier can grant it later in this run
                self.index.held[a.name] = HeldKey(public, mine[0], mine[1])
        return Outcome(server_id=env_id)

    def _find_held_env(self, app_id: str, name: str, label: str) -> str | None:
        """The id of the environment ``name`` of ``app_id`` among the applier's key rows
        (``/secrets/tokens/``, which holds E2EE apps too); found, it is remembered as ``label``
        with its key row."""
        keys = self._read_keys()
        for app in keys.apps:
            for row in app.environment_keys if app.id == app_id else ():
                if row.environment.name.lower() == name.lower():
                    self._remember("envs", label, row.environment.id)
                    self._refresh_held(keys)
                    return row.environment.id
        return None

    def _envs_of(self, app_id: str) -> list[Mapping[str, Any]]:
        data = self.client.request("GET", "/v1/environments/", params={"app_id": app_id})
        return list(data["data"])

    def _environment(self, change: Change) -> Outcome:
        a = change.address
        app, _env = n.split_key(a.name)
        console = self.console if app in self._live_e2ee() else None  # REST refuses E2EE apps
        if change.action is Action.DELETE:
            if console is None:
                return self._delete(change, "environments")
            console.delete_environment(_live_id(change), a)
            return Outcome()
        want_name = str(change.resource.attributes["name"])
        if change.action is Action.CREATE:
            with self.lock:
                known = self.index.envs.get(a.name)
            if known is not None:  # created with its app, in the same request
                return Outcome(server_id=known)
            app_id = self._id("apps", app, a)
            if app in self._live_e2ee():
                return self._create_e2ee_environment(change, app_id, want_name)

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
        if console is not None:
            console.rename_environment(env_id, want_name, a)
            return Outcome(server_id=env_id)
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
            self._send_access(
                change,
                f"/v1/service-accounts/{sa_id}/access/",
                "service",
                sa_id,
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
            self._send_access(
                change, f"/v1/service-accounts/{sa_id}/access/", "service", sa_id, grants
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
                # keys for every environment first: role changes grant none
                everything = self._promotion_access(self._live_e2ee())
                self._send_access(change, path, "user", member_id, everything)
            if role_changes:
                self.client.request(
                    "PUT",
                    f"/v1/members/{member_id}/",
                    body={"role_id": self._role_id(wanted_role, a)},
                    address=a,
                )
            if (access_changes or demote) and not n.is_global(wanted_role, globals_):
                want = _mapping(change.resource.meta.get("access"))
                self._send_access(change, path, "user", member_id, want)
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


def _promotes(change: Change, global_roles: set[str], *, demotion: bool = False) -> bool:
    """The change gives a member a global-access role (``demotion``: takes it away)."""
    want = change.desired.attributes.get("role") if change.desired else None
    have = change.live.attributes.get("role") if change.live else None
    if demotion:
        want, have = have, want
    return n.is_global(_opt(want), global_roles) and not n.is_global(_opt(have), global_roles)


def _grant_map(value: JSON | None) -> dict[str, list[str]]:
    """An access mapping ``{app: [env, ...]}`` from JSON (anything else is empty)."""
    return {str(k): _strings(v) for k, v in _mapping(value).items()}
