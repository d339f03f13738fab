"""Server-side key handling, as the Phase server does it (``api/utils/environments.py``,
``api/utils/keys.py``; docs/phase-api.md#environments, #keys-and-cryptography,
#team-and-individual-access).

* ``create_environment``: a fresh seed and salt, the env key pair, the server's copy
  (``ServerEnvironmentKey``) and an ``EnvironmentKey`` for every global-access member with an
  identity key, every SSK service account of the app and the requester.
* ``grant_from_server``: unwrap the server's copy and re-wrap for a principal (SSE grants).
* Grants: a key row holds grants ``"individual"`` and ``"team:<id>"``; a key is removed (the
  real server soft-deletes and wipes it) when its last grant goes.
"""

from __future__ import annotations

import functools

from reconciler.crypto import primitives as p
from reconciler.sandbox.phase.access import role_has_global_access
from reconciler.sandbox.phase.store import Row, Store, new_id, now, stamps
from reconciler.sandbox.phase.wire import ENV_NAME, ENV_NAME_MESSAGE

INDIVIDUAL = "individual"
DEFAULT_ENVS = (("Development", "dev"), ("Staging", "staging"), ("Production", "prod"))


class ProvisionError(ValueError):
    """A ``ValueError`` the server turns into a 400 with its message."""


def team_grant(team: Row) -> str:
    return f"team:{team['id']}"


def env_secrets(store: Store, env: Row) -> tuple[str, str] | None:
    """The env's seed and salt from its ``ServerEnvironmentKey``; None for E2EE envs."""
    server_key = env.get("server_key")
    if not server_key:
        return None
    pk, sk = store.server_keypair()
    return (
        p.decrypt_asymmetric(server_key["wrapped_seed"], sk, pk),
        p.decrypt_asymmetric(server_key["wrapped_salt"], sk, pk),
    )


def wrap_pair(seed: str, salt: str, kx_pub: str) -> tuple[str, str]:
    return p.encrypt_asymmetric(seed, kx_pub), p.encrypt_asymmetric(salt, kx_pub)


@functools.lru_cache(maxsize=65536)
def _to_kx(identity: str) -> str:
    return p.ed25519_pk_to_kx(identity)  # a point decompression: worth remembering


def kx_public(kind: str, row: Row) -> str | None:
    """``curve25519(identity_key)`` of a member or service account (None without one)."""
    identity = row.get("identity_key")
    if not isinstance(identity, str) or not identity.strip():
        return None
    return _to_kx(identity)


def ensure_key(
    store: Store,
    env: Row,
    kind: str,
    principal_id: str,
    grant: str,
    wrapped: tuple[str, str] | None,
) -> Row | None:
    """The active key of (env, principal) with ``grant`` added; a new key is created from
    ``wrapped`` (seed, salt ciphertexts) when there is none (None: nothing to create)."""
    key = store.find_key(env["id"], kind, principal_id)
    if key is None:
        if wrapped is None:
            return None
        stamp = now()
        key = {
            "id": new_id(),
            "environment_id": env["id"],
            "kind": kind,
            "principal_id": principal_id,
            "identity_key": env["identity_key"],
            "wrapped_seed": wrapped[0],
            "wrapped_salt": wrapped[1],
            "grants": [],
            "created_at": stamp,
            "updated_at": stamp,
        }
        store.add_key(key)
    if grant not in key["grants"]:
        key["grants"].append(grant)
    return key


def grant_from_server(store: Store, env: Row, kind: str, principal: Row, grant: str) -> bool:
    """Give ``principal`` a key for ``env`` wrapped by the server (SSE only); an existing key
    only gains the grant. False when the env has no server key or the principal no identity."""
    if store.find_key(env["id"], kind, principal["id"]) is not None:
        ensure_key(store, env, kind, principal["id"], grant, None)
        return True
    secrets = env_secrets(store, env)
    kx_pub = kx_public(kind, principal)
    if secrets is None or kx_pub is None:
        return False
    ensure_key(store, env, kind, principal["id"], grant, wrap_pair(*secrets, kx_pub))
    return True


def revoke(store: Store, key: Row, grant: str) -> None:
    """Drop one grant from a key; a key left without grants is wiped."""
    if grant in key["grants"]:
        key["grants"].remove(grant)
    if not key["grants"]:
        store.drop_key(key["id"])


def revoke_individual(
    store: Store, kind: str, principal_id: str, env_ids: set[str] | None = None
) -> None:
    """``revoke_individual_environment_keys`` for the given environments (all when None)."""
    for key in store.keys_of(kind, principal_id):
        if env_ids is None or key["environment_id"] in env_ids:
            revoke(store, key, INDIVIDUAL)


def app_env_ids(store: Store, app_id: str) -> set[str]:
    return {e["id"] for e in store.envs_of_app(app_id)}


def revoke_team(
    store: Store,
    team: Row,
    env_ids: set[str] | None = None,
    member: tuple[str, str] | None = None,
) -> None:
    """``revoke_team_environment_keys``: the team's grants, optionally limited to some
    environments or one member ``(kind, id)``."""
    grant = team_grant(team)
    for key in list(store.table("keys").values()):
        if grant not in key["grants"]:
            continue
        if env_ids is not None and key["environment_id"] not in env_ids:
            continue
        if member is not None and (key["kind"], key["principal_id"]) != member:
            continue
        revoke(store, key, grant)


def team_members(store: Store, team: Row) -> list[tuple[str, Row]]:
    """The team's active principals as ``(kind, row)``."""
    out = []
    for ref in team["members"]:
        row = store.principal(ref["kind"], ref["id"])
        if row is not None:
            out.append((ref["kind"], row))
    return out


def provision_team(
    store: Store, team: Row, app: Row, members: list[tuple[str, Row]] | None = None
) -> None:
    """``provision_team_environment_keys``: team keys for the team's envs of ``app``;
    principals without an identity key are skipped (deferred until their first login)."""
    if not app["sse_enabled"]:
        raise ProvisionError("Team-based access requires SSE-enabled apps.")
    envs = [
        e for e in store.envs_of_app(app["id"]) if e["id"] in team["envs"]
    ]  # TeamAppEnvironment rows of this app
    for env in envs:
        for kind, row in members if members is not None else team_members(store, team):
            if kx_public(kind, row) is None:
                continue
            grant_from_server(store, env, kind, row, team_grant(team))


def global_members(store: Store) -> list[Row]:
    """Active members whose role has global access."""
    roles = {r["id"] for r in store.table("roles").values() if role_has_global_access(r)}
    return [
        m
        for m in store.table("members").values()
        if m["deleted_at"] is None and m["role_id"] in roles
    ]


def check_can_create(store: Store, names: list[str], requester: tuple[str, Row] | None) -> None:
    """The ``ProvisionError`` ``create_environment`` would raise for these new names, checked
    before anything is written (so a multi-environment create needs no rollback)."""
    for name in names:
        if not isinstance(name, str) or not ENV_NAME.match(name):
            raise ProvisionError(ENV_NAME_MESSAGE)
    holders = [m for m in global_members(store) if kx_public("user", m)]
    if requester is not None and requester[0] == "user" and kx_public("user", requester[1]):
        holders.append(requester[1])
    if not holders:
        raise ProvisionError(
            "Cannot create environment: no global-access members with identity keys found in "
            "the organisation."
        )


def create_environment(
    store: Store,
    app: Row,
    name: str,
    env_type: str,
    requester: tuple[str, Row] | None,
    *,
    server_copy: bool = True,
) -> Row:
    """``create_environment``: validates the name (``ProvisionError`` with the server's message),
    generates seed and salt and wraps them for every principal that gets the env."""
    if not isinstance(name, str) or not ENV_NAME.match(name):
        raise ProvisionError(ENV_NAME_MESSAGE)
    envs = store.envs_of_app(app["id"])
    if any(e["name"].lower() == name.lower() for e in envs):
        raise ProvisionError(f"An environment named '{name}' already exists in this app.")
    seed, salt = p.random_hex(), p.random_hex()
    env_pub, _ = p.kx_seed_keypair(seed)
    fixed = {"dev": 0, "staging": 1, "prod": 2}
    index = fixed.get(env_type.lower())
    if index is None:
        index = max((e["index"] for e in envs), default=-1) + 1
    members: list[Row] = [m for m in global_members(store) if kx_public("user", m)]
    sas = [
        s
        for s in store.table("service_accounts").values()
        if s["deleted_at"] is None and app["id"] in s["apps"] and s.get("server_wrapped_keyring")
    ]
    if requester is not None:
        kind, row = requester
        if kind == "user" and row not in members and kx_public("user", row):
            members.append(row)
        if kind == "service" and row not in sas and kx_public("service", row):
            sas.append(row)
    owner = next((m for m in members if (store.role_of(m) or {}).get("name") == "Owner"), None)
    if owner is None and not members:
        raise ProvisionError(
            "Cannot create environment: no global-access members with identity keys found in "
            "the organisation."
        )
    owner = owner or members[0]
    owner_pub = kx_public("user", owner)
    assert owner_pub is not None
    owner_wrapped = wrap_pair(seed, salt, owner_pub)
    created, updated = stamps()
    env: Row = {
        "id": new_id(),
        "app_id": app["id"],
        "name": name,
        "env_type": env_type.lower(),
        "index": index,
        "identity_key": env_pub,
        "wrapped_seed": owner_wrapped[0],
        "wrapped_salt": owner_wrapped[1],
        "server_key": None,
        "created_at": created,
        "updated_at": updated,
    }
    if server_copy:
        server_seed, server_salt = wrap_pair(seed, salt, store.server_keypair()[0])
        env["server_key"] = {"wrapped_seed": server_seed, "wrapped_salt": server_salt}
    store.table("environments")[env["id"]] = env
    for member in members:
        pub = owner_pub if member is owner else kx_public("user", member)
        assert pub is not None
        wrapped = owner_wrapped if member is owner else wrap_pair(seed, salt, pub)
        ensure_key(store, env, "user", member["id"], INDIVIDUAL, wrapped)
    for sa in sas:
        pub = kx_public("service", sa)
        assert pub is not None
        ensure_key(store, env, "service", sa["id"], INDIVIDUAL, wrap_pair(seed, salt, pub))
    return env


def delete_environment(store: Store, env_id: str) -> None:
    """Hard delete with its cascade: keys, server key, secrets, team scope rows."""
    store.table("environments").pop(env_id, None)
    for key in store.keys_of_env(env_id):
        store.drop_key(key["id"])
    secrets = store.table("secrets")
    for rid in [r for r, row in secrets.items() if row["environment_id"] == env_id]:
        del secrets[rid]
    for team in store.table("teams").values():
        team["envs"] = [e for e in team["envs"] if e != env_id]


def delete_app(store: Store, app_id: str) -> None:
    """Hard delete with its cascade: environments (and theirs), app memberships."""
    for env in store.envs_of_app(app_id):
        delete_environment(store, env["id"])
    store.table("apps").pop(app_id, None)
    for table in ("members", "service_accounts"):
        for row in store.table(table).values():
            row["apps"] = [a for a in row["apps"] if a != app_id]
