"""The console session and the GraphQL subset for end-to-end-encrypted apps
(docs/phase-api.md#console-api): password login with ``authHash``, reading identity keys and one's
own environment keys, granting, re-scoping and revoking E2EE access with client-side wrapping,
creating an E2EE environment and enabling SSE."""

from __future__ import annotations

import functools
import hashlib
from typing import Any

import httpx
import pytest
from nacl import pwhash

from reconciler.crypto import primitives as p


@functools.cache
def auth_hash(password: str, email: str) -> str:
    """The console's ``passwordAuthHash`` (computed here as a client would)."""
    salt = hashlib.blake2b(f"auth-v1:{email}".encode(), digest_size=16).digest()
    return pwhash.argon2id.kdf(
        32,
        password.encode(),
        salt,
        opslimit=pwhash.argon2id.OPSLIMIT_MODERATE,
        memlimit=pwhash.argon2id.MEMLIMIT_MODERATE,
    ).hex()


class Console:
    """A logged-in console session of the owner, plus the owner's keys from their PAT."""

    def __init__(self, phase: Any) -> None:
        self.phase = phase
        credentials = phase.credentials
        self.http = httpx.Client(base_url=phase.url, timeout=30)
        login = self.http.post(
            "/auth/password/login/",
            json={
                "email": credentials["PHASE_EMAIL"],
                "authHash": auth_hash(credentials["PHASE_PASSWORD"], credentials["PHASE_EMAIL"]),
            },
        )
        assert login.status_code == 200, login.text
        assert set(login.json()) == {"userId", "email", "fullName", "avatarUrl", "authMethod"}
        self.member_id = login.json()["userId"]
        token = credentials["PHASE_TOKEN"]
        self.kx_pub, self.kx_priv = keys_of(phase, token)

    def gql(self, operation: str, variables: dict[str, Any] | None = None) -> Any:
        response = self.http.post(
            "/graphql/",
            json={
                "query": f"query {operation} {{ __typename }}",
                "variables": variables or {},
                "operationName": operation,
            },
        )
        assert response.status_code == 200, response.text
        return response.json()

    def data(self, operation: str, variables: dict[str, Any] | None = None) -> Any:
        answer = self.gql(operation, variables)
        assert "errors" not in answer, answer
        return answer["data"]

    def unwrap(self, wrapped: str) -> str:
        return p.decrypt_asymmetric(wrapped, self.kx_priv, self.kx_pub)


def keys_of(phase: Any, token: str) -> tuple[str, str]:
    _, _, _bearer, kx_pub, share_a, wrap_key = token.split(":")
    with phase.client(token) as client:
        share = client.get("/secrets/tokens/").json()["wrapped_key_share"]
    return kx_pub, p.xor_hex(share_a, p.unwrap_share_hex(share, wrap_key))


@pytest.fixture
def console(phase: Any) -> Console:
    return Console(phase)


def test_login_and_session_rules(phase: Any) -> None:
    url = phase.url
    assert httpx.post(f"{url}/graphql/", json={"query": "{serverPublicKey}"}).status_code == 302
    missing = httpx.post(f"{url}/auth/password/login/", json={"email": "owner@acme.test"})
    assert (missing.status_code, missing.json()) == (
        400,
        {"error": "Email and password are required."},
    )
    for email in ("owner@acme.test", "nobody@acme.test"):
        wrong = httpx.post(f"{url}/auth/password/login/", json={"email": email, "authHash": "00"})
        assert (wrong.status_code, wrong.json()) == (401, {"error": "Invalid email or password."})
    # the password is never accepted in place of its hash
    plain = httpx.post(
        f"{url}/auth/password/login/",
        json={"email": "owner@acme.test", "authHash": phase.credentials["PHASE_PASSWORD"]},
    )
    assert plain.status_code == 401


def test_directory_queries(phase: Any, console: Console) -> None:
    (org,) = console.data("GetOrganisations")["organisations"]
    assert org["plan"] == "PR" and org["memberId"] == console.member_id
    members = console.data("GetOrganisationMembers", {"organisationId": org["id"]})
    by_email = {m["email"]: m for m in members["organisationMembers"]}
    assert set(by_email) == {
        "owner@acme.test",
        "admin@acme.test",
        "dana@acme.test",
        "dev@acme.test",
    }
    assert by_email["owner@acme.test"]["self"] is True
    assert p.ed25519_pk_to_kx(by_email["owner@acme.test"]["identityKey"]) == console.kx_pub
    admins = console.data(
        "GetOrganisationMembers", {"organisationId": org["id"], "role": ["Admin"]}
    )["organisationMembers"]
    assert [m["email"] for m in admins] == ["admin@acme.test"]
    denied = console.gql("GetOrganisationMembers", {"organisationId": "other"})
    assert denied["errors"][0]["message"] == "You don't have access to this organisation"
    assert denied["data"] == {"organisationMembers": None}
    seeded = phase.control("POST", "seed/", {"service_accounts": [{"name": "bot"}]})
    sas = console.data("GetServiceAccounts", {"orgId": org["id"]})["serviceAccounts"]
    assert [(s["id"], s["name"]) for s in sas] == [(seeded["service_accounts"]["bot"]["id"], "bot")]
    assert len(sas[0]["identityKey"]) == 64
    server = console.data("GetServerKey")["serverPublicKey"]
    assert server == phase.control("GET", "principals/")["server_public_key"]
    unknown = console.http.post("/graphql/", json={"query": "query Nope { x }"})
    assert unknown.status_code == 400


def vault_of(console: Console) -> tuple[str, dict[str, tuple[str, str, str]]]:
    """The vault app id and ``{env name: (env id, seed, salt)}`` opened by the owner."""
    with console.phase.owner() as owner:
        vault = next(a for a in owner.get("/v1/apps/").json()["data"] if a["name"] == "vault")
    keys = console.data("GetEnvironmentKeys", {"appId": vault["id"]})["environmentKeys"]
    opened = {
        k["environment"]["name"]: (
            k["environment"]["id"],
            console.unwrap(k["wrappedSeed"]),
            console.unwrap(k["wrappedSalt"]),
        )
        for k in keys
    }
    for _env_id, seed, _salt in opened.values():
        assert len(seed) == 64
    return vault["id"], opened


def test_grant_rescope_and_revoke_e2ee_access(phase: Any, console: Console) -> None:
    vault, envs = vault_of(console)
    (org,) = console.data("GetOrganisations")["organisations"]
    members = console.data("GetOrganisationMembers", {"organisationId": org["id"]})
    dana = next(m for m in members["organisationMembers"] if m["email"] == "dana@acme.test")
    dana_pub = p.ed25519_pk_to_kx(dana["identityKey"])

    def env_key(name: str) -> dict[str, str]:
        env_id, seed, salt = envs[name]
        return {
            "envId": env_id,
            "userId": dana["id"],
            "identityKey": p.kx_seed_keypair(seed)[0],
            "wrappedSeed": p.encrypt_asymmetric(seed, dana_pub),
            "wrappedSalt": p.encrypt_asymmetric(salt, dana_pub),
        }

    added = console.data(
        "AddMemberToApp",
        {"memberId": dana["id"], "memberType": "USER", "appId": vault,
         "envKeys": [env_key("Development")]},
    )  # fmt: skip
    assert added["addAppMember"]["app"]["id"] == vault
    token = phase.pat("dana@acme.test")
    kx_pub, kx_priv = keys_of(phase, token)
    with phase.client(token) as client:
        (app,) = client.get("/secrets/tokens/").json()["apps"]
    (row,) = app["environment_keys"]
    assert (app["encryption"], row["environment"]["name"]) == ("E2E", "Development")
    assert p.decrypt_asymmetric(row["wrapped_seed"], kx_priv, kx_pub) == envs["Development"][1]
    with phase.owner() as owner:
        access = owner.get(f"/v1/members/{dana['id']}/access/").json()["apps"]
        assert [(a["name"], [e["name"] for e in a["environments"]]) for a in access] == [
            ("vault", ["Development"])
        ]
    console.data(
        "UpdateEnvScope",
        {"memberId": dana["id"], "appId": vault, "envKeys": [env_key("Production")]},
    )
    grants = console.data(
        "GetMemberEnvKeyGrants", {"appId": vault, "memberId": dana["id"], "memberType": "USER"}
    )["environmentKeys"]
    assert [(g["environment"]["id"], g["grants"]) for g in grants] == [
        (envs["Production"][0], [{"grantType": "INDIVIDUAL", "team": None}])
    ]
    admin = next(m for m in members["organisationMembers"] if m["email"] == "admin@acme.test")
    refused = console.gql(
        "UpdateEnvScope", {"memberId": admin["id"], "appId": vault, "envKeys": []}
    )
    assert refused["errors"][0]["message"] == (
        "Access cannot be changed for members with a global access role."
    )
    bad = console.gql(
        "AddMemberToApp",
        {"memberId": dana["id"], "appId": vault,
         "envKeys": [env_key("Development") | {"wrappedSeed": "plaintext"}]},
    )  # fmt: skip
    assert "errors" in bad
    console.data("RemoveMemberFromApp", {"memberId": dana["id"], "appId": vault})
    with phase.client(token) as client:
        assert client.get("/secrets/tokens/").json()["apps"] == []
    again = console.gql("RemoveMemberFromApp", {"memberId": dana["id"], "appId": vault})
    assert again["errors"][0]["message"] == "This user is not a member of this app"


def test_create_an_e2ee_environment_then_enable_sse(phase: Any, console: Console) -> None:
    vault, envs = vault_of(console)
    (org,) = console.data("GetOrganisations")["organisations"]
    members = console.data("GetOrganisationMembers", {"organisationId": org["id"]})
    admin = next(m for m in members["organisationMembers"] if m["email"] == "admin@acme.test")
    seed, salt = p.random_hex(), p.random_hex()
    env_pub = p.kx_seed_keypair(seed)[0]
    admin_pub = p.ed25519_pk_to_kx(admin["identityKey"])
    made = console.data(
        "CreateEnv",
        {
            "envInput": {
                "appId": vault,
                "name": "Staging",
                "envType": "staging",
                "identityKey": env_pub,
                "wrappedSeed": p.encrypt_asymmetric(seed, console.kx_pub),
                "wrappedSalt": p.encrypt_asymmetric(salt, console.kx_pub),
            },
            "adminKeys": [
                {
                    "envId": "",
                    "userId": admin["id"],
                    "identityKey": env_pub,
                    "wrappedSeed": p.encrypt_asymmetric(seed, admin_pub),
                    "wrappedSalt": p.encrypt_asymmetric(salt, admin_pub),
                }
            ],
        },
    )["createEnvironment"]["environment"]
    assert (made["name"], made["index"], made["identityKey"]) == ("Staging", 1, env_pub)
    duplicate = console.gql(
        "CreateEnv", {"envInput": {"appId": vault, "name": "staging", "envType": "custom"}}
    )
    assert duplicate["errors"][0]["message"] == (
        "An Environment with this name already exists in this App!"
    )
    admin_token = phase.pat("admin@acme.test")
    kx_pub, kx_priv = keys_of(phase, admin_token)
    with phase.client(admin_token) as client:
        rows = [
            r
            for a in client.get("/secrets/tokens/").json()["apps"]
            for r in a["environment_keys"]
            if r["environment"]["id"] == made["id"]
        ]
    assert p.decrypt_asymmetric(rows[0]["wrapped_seed"], kx_priv, kx_pub) == seed
    listed = console.data("GetAppEnvironments", {"appId": vault})
    assert listed["sseEnabled"] is False
    assert [e["name"] for e in listed["appEnvironments"]] == [
        "Development",
        "Staging",
        "Production",
    ]
    with phase.owner() as owner:
        assert owner.get(f"/v1/apps/{vault}/").status_code == 403
    # enable SSE: every env's seed and salt wrapped for the server key
    server = listed["serverPublicKey"]
    opened = {name: (env_id, s, sa) for name, (env_id, s, sa) in envs.items()}
    opened["Staging"] = (made["id"], seed, salt)
    env_keys = [
        {
            "envId": env_id,
            "identityKey": p.kx_seed_keypair(s)[0],
            "wrappedSeed": p.encrypt_asymmetric(s, server),
            "wrappedSalt": p.encrypt_asymmetric(sa, server),
        }
        for env_id, s, sa in opened.values()
    ]
    enabled = console.data("InitAppSyncing", {"appId": vault, "envKeys": env_keys})
    assert enabled["initEnvSync"]["app"]["sseEnabled"] is True
    with phase.owner() as owner:
        assert owner.get(f"/v1/apps/{vault}/").json()["sseEnabled"] is True
        secrets = owner.get("/v1/secrets/", params={"app_id": vault, "env": "Development"})
        assert [(s["key"], s["value"]) for s in secrets.json()] == [
            ("ROOT_PASSWORD", "vault-root-secret")
        ]
        dana = next(
            m["id"]
            for m in owner.get("/v1/members/").json()["data"]
            if m["email"] == "dana@acme.test"
        )
        grant = {"apps": [{"id": vault, "environments": [made["id"]]}]}
        assert owner.put(f"/v1/members/{dana}/access/", json=grant).status_code == 200


def test_rename_and_delete_an_environment(phase: Any, console: Console) -> None:
    _vault, opened = vault_of(console)
    dev_id, prod_id = opened["Development"][0], opened["Production"][0]

    def error(operation: str, variables: dict[str, Any]) -> str:
        answer = console.gql(operation, variables)
        assert answer["data"] is not None and None in answer["data"].values(), answer
        return str(answer["errors"][0]["message"])

    assert error("RenameEnv", {"environmentId": dev_id, "name": "no spaces"}).startswith(
        "Environment name is invalid!"
    )
    assert (
        error("RenameEnv", {"environmentId": dev_id, "name": "PRODUCTION"})
        == "An Environment with this name already exists in this App!"
    )
    assert error("DeleteEnv", {"environmentId": "nope"}) == (
        "Environment matching query does not exist."
    )
    renamed = console.data("RenameEnv", {"environmentId": dev_id, "name": "Dev-2"})
    assert renamed["renameEnvironment"]["environment"]["name"] == "Dev-2"
    assert console.data("DeleteEnv", {"environmentId": prod_id}) == {
        "deleteEnvironment": {"ok": True}
    }
    _vault, after = vault_of(console)
    assert set(after) == {"Dev-2"} and after["Dev-2"] == (dev_id, *opened["Development"][1:])
    phase.control("POST", "changes/", {"changes": [{"op": "set_plan", "plan": "FR"}]})
    assert error("RenameEnv", {"environmentId": dev_id, "name": "Dev-3"}) == (
        "Your Organisation doesn't have access to Custom Environments"
    )
