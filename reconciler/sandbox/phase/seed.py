"""The default organisation a fresh sandbox starts with, fixture seeding, and the console-side
steps the sandbox plays for its users (E2EE apps, accepting invites).

Default organisation (``seed_default``): the five default roles; ``owner@acme.test`` (Owner;
their PAT and password are the printed credentials), ``admin@acme.test`` (Admin),
``dana@acme.test`` and ``dev@acme.test`` (Developers) and a pending invite for
``new.hire@acme.test`` (Developer); one SSE app ``legacy-api`` (Development, Staging, Production;
two secrets in Development) and one end-to-end encrypted app ``vault`` (Development,
Production; a secret in Development) whose keys only the Owner and the Admin hold.

Seeding runs no Argon2: password login hashes are computed on first use (``session.py``).
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from reconciler.crypto import primitives as p
from reconciler.sandbox.phase import keys
from reconciler.sandbox.phase.access import role_has_global_access
from reconciler.sandbox.phase.routes_apps import new_app
from reconciler.sandbox.phase.routes_members import valid_invites
from reconciler.sandbox.phase.routes_service_accounts import new_service_account
from reconciler.sandbox.phase.store import Row, Store, new_id, now
from reconciler.sandbox.phase.wire import ApiError, instant

OWNER_EMAIL = "owner@acme.test"
DEFAULT_ROLE_NAMES = ("Owner", "Admin", "Manager", "Developer", "Service")
PEOPLE = (
    (OWNER_EMAIL, "Owner", "Olivia Owner"),
    ("admin@acme.test", "Admin", "Adam Admin"),
    ("dana@acme.test", "Developer", "Dana Developer"),
    ("dev@acme.test", "Developer", "Devon Developer"),
)


def password_for(secret: str, email: str) -> str:
    """A member's sandbox password: stable for one sandbox (so login hashes stay cached across
    resets), different between sandboxes."""
    return hmac.new(secret.encode(), email.encode(), hashlib.sha256).hexdigest()[:24]


def seed_roles(store: Store) -> dict[str, Row]:
    roles = {}
    for name in DEFAULT_ROLE_NAMES:
        role: Row = {
            "id": new_id(),
            "name": name,
            "description": "",
            "color": "",
            "is_default": True,
            "permissions": {},
            "created_at": now(),
        }
        store.table("roles")[role["id"]] = role
        roles[name] = role
    return roles


def role_named(store: Store, name: str) -> Row:
    found = next(
        (r for r in store.table("roles").values() if r["name"].lower() == name.lower()), None
    )
    if found is None:
        raise ApiError(400, f"sandbox: no role named {name!r}")
    return found


def owner(store: Store) -> Row:
    found = next(
        (
            m
            for m in store.table("members").values()
            if m["deleted_at"] is None and (store.role_of(m) or {}).get("name") == "Owner"
        ),
        None,
    )
    if found is None:
        raise ApiError(400, "sandbox: the organisation has no owner")
    return found


def device_open(store: Store, member: Row, env: Row) -> tuple[str, str]:
    """The env's seed and salt as the member's device opens them (their own key row)."""
    key = store.find_key(env["id"], "user", member["id"])
    if key is None:
        raise ApiError(400, f"sandbox: {member['email']} holds no key for {env['name']}")
    pub, priv = store.kx_keypair_of("user", member)
    return (
        p.decrypt_asymmetric(key["wrapped_seed"], priv, pub),
        p.decrypt_asymmetric(key["wrapped_salt"], priv, pub),
    )


def add_secret(store: Store, env: Row, key: str, value: str, seed: str, salt: str) -> Row:
    """A secret encrypted as the server (SSE) or a console (E2EE) stores it."""
    env_pub, _ = p.kx_seed_keypair(seed)
    stamp = now()
    secret: Row = {
        "id": new_id(),
        "environment_id": env["id"],
        "key": p.encrypt_asymmetric(key.upper(), env_pub),
        "value": p.encrypt_asymmetric(value, env_pub),
        "comment": "",
        "tags": [],
        "type": "secret",
        "path": "/",
        "key_digest": p.blake2b_digest(key.upper(), salt),
        "version": 1,
        "created_at": stamp,
        "updated_at": stamp,
    }
    store.table("secrets")[secret["id"]] = secret
    return secret


def add_app(
    store: Store,
    creator: Row,
    name: str,
    *,
    description: str | None = None,
    environments: list[str] | None = None,
    sse: bool = True,
) -> Row:
    """An app as REST (SSE) or the console (E2EE: no server keys) creates it; global-access
    members and the creator join it and get keys for every environment."""
    app = new_app(store, name, description, sse=sse)
    for member in [creator, *keys.global_members(store)]:
        if app["id"] not in member["apps"]:
            member["apps"].append(app["id"])
    fixed = {"development": "dev", "staging": "staging", "production": "prod"}
    specs = (
        list(keys.DEFAULT_ENVS)
        if environments is None
        else [(n, fixed.get(n.lower(), "custom") if not sse else "custom") for n in environments]
    )
    for env_name, env_type in specs:
        keys.create_environment(store, app, env_name, env_type, ("user", creator), server_copy=sse)
    return app


def add_invite(store: Store, email: str, role: Row, inviter: Row) -> Row:
    invite: Row = {
        "id": new_id(),
        "email": email.strip().lower(),
        "role_id": role["id"],
        "invited_by": {"type": "member", "email": inviter["email"]},
        "created_at": now(),
        "expires_at": instant(_in_days(14)),
        "valid": True,
    }
    store.table("invites")[invite["id"]] = invite
    return invite


def _in_days(days: int) -> Any:
    import datetime

    return datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=days)


def seed_default(store: Store, secret: str, plan: str = "PR") -> str:
    """Reset ``store`` to the default organisation; returns the owner's PAT."""
    store.reset(plan)
    roles = seed_roles(store)
    members = {
        email: store.add_member(
            email, roles[role]["id"], name, password=password_for(secret, email)
        )
        for email, role, name in PEOPLE
    }
    boss = members[OWNER_EMAIL]
    token = store.mint_token("user", boss, "reconciler", None)
    add_invite(store, "new.hire@acme.test", roles["Developer"], boss)
    legacy = add_app(store, boss, "legacy-api", description="The old monolith")
    development = store.envs_of_app(legacy["id"])[0]
    seed, salt = keys.env_secrets(store, development) or ("", "")
    add_secret(store, development, "DATABASE_URL", "postgres://legacy@db/legacy", seed, salt)
    add_secret(store, development, "API_KEY", "dev-legacy-key", seed, salt)
    vault = add_app(store, boss, "vault", environments=["Development", "Production"], sse=False)
    vault_dev = store.envs_of_app(vault["id"])[0]
    add_secret(
        store, vault_dev, "ROOT_PASSWORD", "vault-root-secret", *device_open(store, boss, vault_dev)
    )
    return token


def accept_invite(store: Store, invite: Row) -> dict[str, str]:
    """What the invitee's console does: the key ceremony (a fresh identity key pair), the
    member row, and a PAT for them; the invite stops being valid."""
    if not invite["valid"]:
        raise ApiError(409, "sandbox: this invite is no longer valid")
    invite["valid"] = False
    member = store.add_member(invite["email"], invite["role_id"])
    token = store.mint_token("user", member, "sandbox", None)
    return {"member_id": member["id"], "email": member["email"], "token": token}


def seed_fixture(store: Store, fixture: dict[str, Any]) -> dict[str, Any]:
    """Add objects from a fixture, as their owners would create them::

        members: [{email, role: Developer, name?, identity?: true, password?}]
        invites: [{email, role: Developer}]
        apps: [{name, description?, environments?: [..], sse?: true,
                secrets?: {<env name>: {KEY: value}}}]
        service_accounts: [{name, role: Service, access?: {<app name>: [<env name>]}}]

    Returns ``{"members": {email: id}, "tokens": {email: PAT}, "invites": {email: id},
    "apps": {name: id}, "service_accounts": {name: {id, token}}}``.
    """
    if not isinstance(fixture, dict):
        raise ApiError(400, "sandbox: a fixture is an object")
    boss = owner(store)
    created: dict[str, Any] = {
        "members": {},
        "tokens": {},
        "invites": {},
        "apps": {},
        "service_accounts": {},
    }
    for m in fixture.get("members", []):
        role = role_named(store, m.get("role", "Developer"))
        row = store.add_member(
            m["email"],
            role["id"],
            m.get("name"),
            identity=bool(m.get("identity", True)),
            password=m.get("password"),
        )
        if role_has_global_access(role):
            for app in store.table("apps").values():
                if app["id"] not in row["apps"]:
                    row["apps"].append(app["id"])
        created["members"][row["email"]] = row["id"]
        if row["identity_key"]:
            created["tokens"][row["email"]] = store.mint_token("user", row, "sandbox", None)
    for i in fixture.get("invites", []):
        email = str(i["email"]).strip().lower()
        if any(v["email"] == email for v in valid_invites(store)):
            raise ApiError(409, f"sandbox: an active invite already exists for {email}")
        invite = add_invite(store, email, role_named(store, i.get("role", "Developer")), boss)
        created["invites"][email] = invite["id"]
    for a in fixture.get("apps", []):
        app = add_app(
            store,
            boss,
            a["name"],
            description=a.get("description"),
            environments=a.get("environments"),
            sse=bool(a.get("sse", True)),
        )
        envs = {e["name"]: e for e in store.envs_of_app(app["id"])}
        for env_name, values in (a.get("secrets") or {}).items():
            env = envs[env_name]
            seed, salt = keys.env_secrets(store, env) or device_open(store, boss, env)
            for key, value in values.items():
                add_secret(store, env, key, str(value), seed, salt)
        created["apps"][a["name"]] = app["id"]
    for s in fixture.get("service_accounts", []):
        sa = new_service_account(
            store, s["name"], role_named(store, s.get("role", "Service")), None
        )
        for app_name, env_names in (s.get("access") or {}).items():
            app = next(x for x in store.table("apps").values() if x["name"] == app_name)
            sa["apps"].append(app["id"])
            for env in store.envs_of_app(app["id"]):
                if env["name"] in env_names:
                    keys.grant_from_server(store, env, "service", sa, keys.INDIVIDUAL)
        token = store.mint_token("service", sa, "Default", None)
        created["service_accounts"][s["name"]] = {"id": sa["id"], "token": token}
    return created
