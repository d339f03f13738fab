"""The default organisation a fresh sandbox starts with, and fixture seeding.

Default: the five default roles; an owner (whose PAT and password are the sandbox's printed
credentials), a second admin, two developers and one pending invite; one SSE app
(``legacy-api``, three environments, a few secrets) and one end-to-end encrypted app
(``vault``) whose environment keys only the owner and the admin hold.
"""

from __future__ import annotations

from typing import Any

from reconciler.crypto import primitives as p
from reconciler.sandbox.phase import views
from reconciler.sandbox.phase.auth import Caller
from reconciler.sandbox.phase.roles import DEFAULTS
from reconciler.sandbox.phase.store import Row, Store, new_id, now

OWNER_EMAIL = "owner@acme.test"


def seed_roles(store: Store) -> dict[str, Row]:
    roles = {}
    for name, (description, *_rest) in DEFAULTS.items():
        role: Row = {
            "id": new_id(),
            "name": name,
            "description": description,
            "color": "",
            "is_default": True,
            "permissions": None,
            "created_at": now(),
        }
        store.table("roles")[role["id"]] = role
        roles[name] = role
    return roles


def owner_caller(store: Store) -> Caller:
    owner = next(m for m in store.table("members").values() if m["email"] == OWNER_EMAIL)
    return Caller("user", owner, store.table("roles")[owner["role_id"]])


def add_e2ee_app(store: Store, name: str, environments: list[str]) -> Row:
    """An E2EE app as the console creates one: keys for global-access members only, no server
    key (so REST refuses it)."""
    app: Row = {
        "id": new_id(),
        "name": name,
        "description": None,
        "sse_enabled": False,
        "created_at": now(),
        "updated_at": now(),
    }
    store.table("apps")[app["id"]] = app
    holders = views.global_members(store)
    for member in holders:
        member["apps"].append(app["id"])
    types = {"development": "dev", "staging": "staging", "production": "prod"}
    for index, env_name in enumerate(environments):
        env = store.add_environment(app, env_name, types.get(env_name.lower(), "custom"), index)
        for member in holders:
            store.grant_key(env, "user", member["id"], "individual")
    return app


def seed_default(store: Store) -> str:
    """Reset ``store`` to the default organisation; returns the owner's PAT."""
    store.reset()
    roles = seed_roles(store)
    owner = store.add_member(OWNER_EMAIL, roles["Owner"]["id"], "Olivia Owner")
    token = store.mint_token("user", owner["id"], "reconciler", None)
    store.add_member("admin@acme.test", roles["Admin"]["id"], "Adam Admin")
    store.add_member("dana@acme.test", roles["Developer"]["id"], "Dana Developer")
    store.add_member("dev@acme.test", roles["Developer"]["id"], "Devon Developer")
    caller = owner_caller(store)
    views.create_invite(
        store, caller, {"email": "new.hire@acme.test", "role_id": roles["Developer"]["id"]}
    )
    response = views.create_app(
        store, caller, {"name": "legacy-api", "description": "The old monolith"}
    )
    app = next(a for a in store.table("apps").values() if a["name"] == "legacy-api")
    assert response.status_code == 201
    params = {"app_id": app["id"], "env": "Development"}
    views.write_secrets(
        store,
        caller,
        params,
        {
            "secrets": [
                {"key": "DATABASE_URL", "value": "postgres://legacy@db/legacy"},
                {"key": "API_KEY", "value": "dev-legacy-key"},
            ]
        },
        update=False,
    )
    vault = add_e2ee_app(store, "vault", ["Development", "Production"])
    dev_env = store.envs_of_app(vault["id"])[0]

    store.table("secrets")[new_id()] = {
        "id": new_id(),
        "environment_id": dev_env["id"],
        "key": "ROOT_PASSWORD",
        "path": "/",
        "key_digest": p.blake2b_digest("ROOT_PASSWORD", dev_env["salt"]),
        "value": p.encrypt_asymmetric("vault-root-secret", dev_env["identity_key"]),
        "comment": "",
        "version": 1,
        "created_at": now(),
        "updated_at": now(),
    }
    return token


def seed_fixture(store: Store, fixture: dict[str, Any]) -> dict[str, Any]:
    """Add objects from a fixture to the organisation, as their owners would create them:
    ``{"members": [{"email", "role"}], "invites": [{"email", "role"}],
    "apps": [{"name", "description"?, "environments"?, "sse"?: true}]}``. Returns the new ids."""
    roles = {r["name"]: r for r in store.table("roles").values()}
    caller = owner_caller(store)
    created: dict[str, Any] = {"members": {}, "apps": {}, "invites": {}}
    for m in fixture.get("members", []):
        row = store.add_member(m["email"], roles[m.get("role", "Developer")]["id"], m.get("name"))
        created["members"][row["email"]] = row["id"]
    for i in fixture.get("invites", []):
        role_id = roles[i.get("role", "Developer")]["id"]
        views.create_invite(store, caller, {"email": i["email"], "role_id": role_id})
        created["invites"][i["email"]] = True
    for a in fixture.get("apps", []):
        if a.get("sse", True):
            body = {k: a[k] for k in ("name", "description", "environments") if k in a}
            views.create_app(store, caller, body)
            app = max(
                (x for x in store.table("apps").values() if x["name"] == a["name"]),
                key=lambda x: x["created_at"],
            )
        else:
            app = add_e2ee_app(store, a["name"], a.get("environments", ["Development"]))
        created["apps"][a["name"]] = app["id"]
    return created
