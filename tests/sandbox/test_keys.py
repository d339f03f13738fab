"""Real keys (docs/phase-api.md#token-key-material, #keys-and-cryptography): a principal recovers
its X25519 private key from its own token and ``GET /secrets/tokens/``, then opens what the sandbox
wrapped for it. Nobody else's key opens it."""

from __future__ import annotations

from typing import Any

import httpx
import nacl.bindings as sodium
import pytest

from reconciler.crypto import primitives as p


def keyring(phase: Any, token: str) -> tuple[str, str, dict[str, Any]]:
    """``(kx_public, kx_private, /secrets/tokens/ body)`` as an SDK derives them."""
    _, _, _bearer, kx_pub, share_a, wrap_key = token.split(":")
    with phase.client(token) as client:
        body = client.get("/secrets/tokens/").json()
    kx_priv = p.xor_hex(share_a, p.unwrap_share_hex(body["wrapped_key_share"], wrap_key))
    assert sodium.crypto_scalarmult_base(bytes.fromhex(kx_priv)).hex() == kx_pub
    return kx_pub, kx_priv, body


def test_a_granted_member_opens_seed_salt_and_secret_values_with_its_own_key(phase: Any) -> None:
    accepted = phase.control("POST", "invites/by-email/new.hire@acme.test/accept/")
    with phase.owner() as owner:
        legacy = next(a for a in owner.get("/v1/apps/").json()["data"] if a["name"] == "legacy-api")
        envs = owner.get("/v1/environments/", params={"app_id": legacy["id"]}).json()["data"]
        development = envs[0]
        body = {"apps": [{"id": legacy["id"], "environments": [development["id"]]}]}
        put = owner.put(f"/v1/members/{accepted['member_id']}/access/", json=body)
        assert put.status_code == 200
    kx_pub, kx_priv, tokens = keyring(phase, accepted["token"])
    (app,) = tokens["apps"]
    (row,) = app["environment_keys"]
    assert (app["id"], app["encryption"], row["environment"]["id"]) == (
        legacy["id"],
        "SSE",
        development["id"],
    )
    seed = p.decrypt_asymmetric(row["wrapped_seed"], kx_priv, kx_pub)
    salt = p.decrypt_asymmetric(row["wrapped_salt"], kx_priv, kx_pub)
    env_pub, env_priv = p.kx_seed_keypair(seed)
    assert env_pub == row["identity_key"]
    stored = phase.control("GET", f"secrets/{development['id']}/")
    opened = {
        p.decrypt_asymmetric(s["key"], env_priv, env_pub): p.decrypt_asymmetric(
            s["value"], env_priv, env_pub
        )
        for s in stored
    }
    assert opened == {"DATABASE_URL": "postgres://legacy@db/legacy", "API_KEY": "dev-legacy-key"}
    assert {s["key_digest"] for s in stored} == {p.blake2b_digest(k, salt) for k in opened}
    with phase.client(accepted["token"]) as member:
        served = member.get(
            "/v1/secrets/", params={"app_id": legacy["id"], "env": "Development"}
        ).json()
    assert {s["key"]: s["value"] for s in served} == opened
    assert {s["keyDigest"] for s in served} == {s["key_digest"] for s in stored}
    stranger_pub, stranger_priv = p.kx_keypair()
    with pytest.raises(p.CryptoError):
        p.decrypt_asymmetric(row["wrapped_seed"], stranger_priv, stranger_pub)
    # the principals view holds the same device keys
    me = next(
        m
        for m in phase.control("GET", "principals/")["members"]
        if m["id"] == accepted["member_id"]
    )
    assert (me["kx_public"], me["kx_private"]) == (kx_pub, kx_priv)
    assert p.ed25519_pk_to_kx(me["identity_key"]) == kx_pub


def test_a_service_account_token_recovers_its_keyring_and_opens_its_grant(phase: Any) -> None:
    with phase.owner() as owner:
        roles = {r["name"]: r["id"] for r in owner.get("/v1/roles/").json()["data"]}
        sa = owner.post(
            "/v1/service-accounts/", json={"name": "ci", "role_id": roles["Service"]}
        ).json()
        app = owner.post("/v1/apps/", json={"name": "svc"}).json()
        production = app["environments"][2]
        grant = {"apps": [{"id": app["id"], "environments": [production["id"]]}]}
        assert owner.put(f"/v1/service-accounts/{sa['id']}/access/", json=grant).status_code == 200
        minted = owner.post(f"/v1/service-accounts/{sa['id']}/tokens/", json={"name": "2nd"})
    for token in (sa["initialToken"]["token"], minted.json()["token"]):
        kx_pub, kx_priv, body = keyring(phase, token)
        assert body["account_id"] == sa["id"]
        (row,) = body["apps"][0]["environment_keys"]
        seed = p.decrypt_asymmetric(row["wrapped_seed"], kx_priv, kx_pub)
        assert p.kx_seed_keypair(seed)[0] == row["identity_key"]
        assert row["environment"]["id"] == production["id"]
    bots = phase.control("GET", "principals/")["service_accounts"]
    bot = next(b for b in bots if b["id"] == sa["id"])
    assert p.ed25519_sk_to_kx(bot["signing_key"]) == kx_priv


def test_every_holder_of_an_environment_sees_the_same_seed(phase: Any) -> None:
    """Owner, admin and a granted developer unwrap the same seed and salt; a revoked grant
    removes the developer's key row."""
    with phase.owner() as owner:
        app = owner.post("/v1/apps/", json={"name": "shared"}).json()
        env = app["environments"][1]
        dana = next(
            m["id"]
            for m in owner.get("/v1/members/").json()["data"]
            if m["email"] == "dana@acme.test"
        )
        grant = {"apps": [{"id": app["id"], "environments": [env["id"]]}]}
        owner.put(f"/v1/members/{dana}/access/", json=grant)
    seeds = set()
    tokens = [
        phase.credentials["PHASE_TOKEN"],
        phase.pat("admin@acme.test"),
        phase.pat("dana@acme.test"),
    ]
    for token in tokens:
        kx_pub, kx_priv, body = keyring(phase, token)
        rows = [
            r
            for a in body["apps"]
            for r in a["environment_keys"]
            if r["environment"]["id"] == env["id"]
        ]
        (row,) = rows
        seeds.add(
            (
                p.decrypt_asymmetric(row["wrapped_seed"], kx_priv, kx_pub),
                p.decrypt_asymmetric(row["wrapped_salt"], kx_priv, kx_pub),
            )
        )
    assert len(seeds) == 1
    with phase.owner() as owner:
        owner.put(f"/v1/members/{dana}/access/", json={"apps": []})
    _pub, _priv, body = keyring(phase, tokens[2])
    assert body["apps"] == []


def test_e2ee_keys_are_wrapped_by_a_device_and_never_by_the_server(phase: Any) -> None:
    kx_pub, kx_priv, body = keyring(phase, phase.credentials["PHASE_TOKEN"])
    vault = next(a for a in body["apps"] if a["name"] == "vault")
    assert vault["encryption"] == "E2E"
    server = phase.control("GET", "principals/")["server_public_key"]
    for row in vault["environment_keys"]:
        seed = p.decrypt_asymmetric(row["wrapped_seed"], kx_priv, kx_pub)
        assert p.kx_seed_keypair(seed)[0] == row["identity_key"]
    development = vault["environment_keys"][0]["environment"]["id"]
    stored = phase.control("GET", f"secrets/{development}/")
    assert len(stored) == 1 and stored[0]["key"].startswith("ph:v1:")
    assert len(server) == 64
    response = httpx.get(f"{phase.url}/_sandbox/secrets/nope/")
    assert response.status_code == 404
