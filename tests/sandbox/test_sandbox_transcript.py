"""Conformance: the request sequences of contracts/phase-transcript.md replayed against the
sandbox, comparing status codes, response key sets and error messages with the recording."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from typing import Any

import httpx

from reconciler.crypto import primitives as p

APP_KEYS = {"id", "name", "description", "sseEnabled", "createdAt", "updatedAt"}
ENV_KEYS = {"id", "name", "envType", "index", "createdAt", "updatedAt"}
SECRET_KEYS = {
    "id", "key", "value", "comment", "tags", "override", "type", "lifecycle", "path",
    "keyDigest", "version", "createdAt", "updatedAt", "environment", "folder",
}  # fmt: skip
ROLE_KEYS = {"id", "name", "description", "color", "isDefault", "createdAt"}
SA_KEYS = {"id", "name", "role", "createdAt", "updatedAt"}
TOKEN_KEYS = {"id", "name", "createdAt", "expiresAt"}
MEMBER_KEYS = {"id", "username", "fullName", "email", "role", "createdAt", "updatedAt"}
INVITE_KEYS = {"id", "inviteeEmail", "role", "invitedBy", "createdAt", "expiresAt", "valid"}


def test_sections_1_to_10_health_prefixes_and_authentication(phase: Any) -> None:
    url = phase.url
    assert httpx.get(f"{url}/health/").json()["status"] == "alive"
    for root in ("/", "/public/"):
        assert httpx.get(url + root).json()["status"] == "ok"
    none = httpx.get(f"{url}/v1/apps/")
    assert (none.status_code, none.json()) == (
        401,
        {"error": "Authentication credentials were not provided."},
    )
    with phase.owner() as owner:
        assert owner.get("/v1/apps/").status_code == 200
        assert owner.get("/public/v1/apps/").status_code == 200
        assert owner.get("/service/public/v1/apps/").status_code == 200
    whole = {"Authorization": f"Bearer {phase.credentials['PHASE_TOKEN']}"}
    bad = [
        (whole, "Invalid token"),
        ({"Authorization": "User deadbeef"}, "Invalid token"),
        ({"Authorization": "Bearer User deadbeef"}, "Token expired or deleted"),
    ]
    for headers, message in bad:
        r = httpx.get(f"{url}/v1/apps/", headers=headers)
        assert (r.status_code, r.json()) == (401, {"error": message})


def test_sections_11_to_20_apps_environments_secrets(phase: Any) -> None:
    with phase.owner() as owner:
        made = owner.post("/v1/apps/", json={"name": "demo-app", "description": "by test"})
        assert made.status_code == 201
        body = made.json()
        assert set(body) == APP_KEYS | {"environments"} and body["sseEnabled"] is True
        assert [(e["name"], e["envType"], e["index"]) for e in body["environments"]] == [
            ("Development", "dev", 0),
            ("Staging", "staging", 1),
            ("Production", "prod", 2),
        ]
        app = body["id"]
        assert set(owner.get(f"/v1/apps/{app}/").json()) == APP_KEYS
        renamed = owner.put(f"/v1/apps/{app}/", json={"name": "demo-app-renamed"}).json()
        assert renamed["name"] == "demo-app-renamed" and renamed["description"] == "by test"
        custom = owner.post("/v1/apps/", json={"name": "demo-app2", "environments": ["dev", "qa"]})
        assert custom.status_code == 201 and custom.json()["description"] is None
        assert [e["envType"] for e in custom.json()["environments"]] == ["custom", "custom"]
        envs = owner.get("/v1/environments/", params={"app_id": app}).json()["data"]
        assert len(envs) == 3 and set(envs[0]) == ENV_KEYS
        qa = owner.post(f"/v1/environments/?app_id={app}", json={"name": "QA"})
        assert qa.status_code == 201 and qa.json()["index"] == 3
        qa_id = qa.json()["id"]
        assert owner.get(f"/v1/environments/{qa_id}/").json()["name"] == "QA"
        assert owner.put(f"/v1/environments/{qa_id}/", json={"name": "QA2"}).json()["name"] == "QA2"
        params = {"app_id": app, "env": "Development"}
        secret = {"key": "demo_key", "value": "hello", "path": "/", "comment": "from the test"}
        written = owner.post("/v1/secrets/", params=params, json={"secrets": [secret]})
        assert written.status_code == 200 and set(written.json()[0]) == SECRET_KEYS
        read = owner.get("/v1/secrets/", params=params).json()
        assert [(s["key"], s["value"]) for s in read] == [("DEMO_KEY", "hello")]
        dup = owner.post("/v1/secrets/", params=params, json={"secrets": [secret]})
        assert (dup.status_code, dup.json()) == (409, {"error": "Duplicate secret found"})


def test_sections_21_to_33_roles_service_accounts_tokens(phase: Any) -> None:
    with phase.owner() as owner:
        roles = owner.get("/v1/roles/").json()["data"]
        assert [r["name"] for r in roles] == ["Owner", "Admin", "Manager", "Developer", "Service"]
        assert set(roles[0]) == ROLE_KEYS and all(r["isDefault"] for r in roles)
        perms = {
            "permissions": {"Apps": ["read"], "Members": ["read"]},
            "app_permissions": {"Environments": ["read"], "Secrets": ["read"]},
        }
        body = {"name": "Auditor", "description": "read-only", "color": "#123456"}
        role = owner.post("/v1/roles/", json=body | {"permissions": perms})
        assert role.status_code == 201
        assert role.json()["permissions"]["appPermissions"] == perms["app_permissions"]
        again = owner.post("/v1/roles/", json=body | {"permissions": perms})
        assert (again.status_code, again.json()["error"]) == (
            409,
            "A role with this name already exists.",
        )
        service = next(r["id"] for r in roles if r["name"] == "Service")
        admin = next(r["id"] for r in roles if r["name"] == "Admin")
        made = owner.post("/v1/service-accounts/", json={"name": "demo-sa", "role_id": service})
        assert made.status_code == 201
        sa = made.json()
        assert set(sa) == SA_KEYS | {"initialToken"}
        assert set(sa["initialToken"]) == TOKEN_KEYS | {"token", "bearerToken"}
        assert re.match(r"^pss_service:v2:(\w{64}:){3}\w{64}$", sa["initialToken"]["token"])
        refused = owner.post("/v1/service-accounts/", json={"name": "x", "role_id": admin})
        assert (refused.status_code, refused.json()["error"]) == (
            400,
            "Service accounts cannot be assigned the 'Admin' role.",
        )
        listed = owner.get("/v1/service-accounts/").json()["data"]
        assert set(listed[0]) == SA_KEYS
        second = owner.post(f"/v1/service-accounts/{sa['id']}/tokens/", json={"name": "second"})
        assert second.status_code == 201 and second.json()["expiresAt"] is None
        no_get = owner.get(f"/v1/service-accounts/{sa['id']}/tokens/")
        assert (no_get.status_code, no_get.json()) == (405, {"error": 'Method "GET" not allowed.'})
        detail = owner.get(f"/v1/service-accounts/{sa['id']}/").json()
        assert [t["name"] for t in detail["tokens"]] == ["second", "Default"]
        gone = owner.delete(f"/v1/service-accounts/{sa['id']}/tokens/{second.json()['id']}/")
        assert gone.status_code == 204
        # the server-minted token authenticates as the service account
        sa_token = sa["initialToken"]["bearerToken"]
        assert (
            httpx.get(
                f"{phase.url}/v1/apps/", headers={"Authorization": f"Bearer {sa_token}"}
            ).status_code
            == 200
        )
        expiry = owner.post(
            f"/v1/service-accounts/{sa['id']}/tokens/", json={"name": "t", "expiry": 5}
        )
        assert expiry.status_code == 400 and "expiry" in expiry.json()["error"]


def test_sections_35_to_50_members_invites_access(phase: Any) -> None:
    with phase.owner() as owner:
        members = owner.get("/v1/members/").json()["data"]
        assert set(members[0]) == MEMBER_KEYS
        dev = next(m for m in members if m["email"] == "dana@acme.test")
        roles = {r["name"]: r["id"] for r in owner.get("/v1/roles/").json()["data"]}
        invite = owner.post(
            "/v1/members/invites/",
            json={"email": "Invitee@Acme.test", "role_id": roles["Developer"]},
        )
        assert invite.status_code == 201 and set(invite.json()) == INVITE_KEYS
        assert invite.json()["inviteeEmail"] == "invitee@acme.test"
        assert invite.json()["invitedBy"] == {"type": "member", "email": "owner@acme.test"}
        assert owner.delete(f"/v1/members/invites/{invite.json()['id']}/").status_code == 204
        camel = owner.post(
            "/v1/members/invites/", json={"email": "c@acme.test", "roleId": roles["Developer"]}
        )
        assert (camel.status_code, camel.json()) == (
            400,
            {"error": "Missing required field: role_id"},
        )
        as_admin = owner.post(
            "/v1/members/invites/", json={"email": "a@acme.test", "role_id": roles["Admin"]}
        )
        assert (as_admin.status_code, as_admin.json()) == (
            400,
            {"error": "Members cannot be invited with the 'Admin' role."},
        )
        slashless = owner.get("/v1/apps")
        assert slashless.status_code == 404 and slashless.text.startswith("<!doctype html>")
        app = owner.post("/v1/apps/", json={"name": "granted"}).json()
        envs = [e["id"] for e in app["environments"]]
        accepted = phase.control("POST", "invites/by-email/new.hire@acme.test/accept/")
        hire = {"Authorization": f"Bearer User {accepted['token'].split(':')[2]}"}
        before = httpx.get(f"{phase.url}/v1/apps/{app['id']}/", headers=hire)
        assert (before.status_code, before.json()) == (
            403,
            {"error": "User cannot access this app"},
        )
        put = owner.put(
            f"/v1/members/{accepted['member_id']}/access/",
            json={"apps": [{"id": app["id"], "environments": envs[:2]}]},
        )
        assert put.status_code == 200
        assert [e["name"] for e in put.json()["apps"][0]["environments"]] == [
            "Development",
            "Staging",
        ]
        assert httpx.get(f"{phase.url}/v1/apps/{app['id']}/", headers=hire).status_code == 200
        cannot = httpx.post(f"{phase.url}/v1/roles/", headers=hire, json={"name": "x"})
        assert cannot.status_code == 403
        owner_id = next(m["id"] for m in members if m["email"] == "owner@acme.test")
        locked = owner.put(f"/v1/members/{owner_id}/access/", json={"apps": []})
        assert (locked.status_code, locked.json()["error"]) == (
            403,
            "Access cannot be changed for members with a global access role.",
        )
        e2ee = next(a for a in owner.get("/v1/apps/").json()["data"] if not a["sseEnabled"])
        assert owner.get(f"/v1/apps/{e2ee['id']}/").json() == {
            "error": "SSE is not enabled for this App."
        }
        refused = owner.put(
            f"/v1/members/{dev['id']}/access/",
            json={"apps": [{"id": e2ee["id"], "environments": ["x"]}]},
        )
        assert refused.status_code == 400 and "does not have SSE enabled" in refused.json()["error"]


def test_e2ee_revocation_hazard_is_faithful(phase: Any) -> None:
    """§8 item 1: an access PUT that leaves out an E2EE app revokes it and wipes its keys."""
    with phase.owner() as owner:
        members = {m["email"]: m["id"] for m in owner.get("/v1/members/").json()["data"]}
        roles = {r["name"]: r["id"] for r in owner.get("/v1/roles/").json()["data"]}
        admin = members["admin@acme.test"]
        owner.put(f"/v1/members/{admin}/", json={"role_id": roles["Developer"]})
        before = owner.get(f"/v1/members/{admin}/access/").json()["apps"]
        assert "vault" in {a["name"] for a in before}
        assert owner.put(f"/v1/members/{admin}/access/", json={"apps": []}).status_code == 200
        after = owner.get(f"/v1/members/{admin}/access/").json()["apps"]
        assert after == []


def test_sections_51_to_53_key_shares_recover_the_private_key(phase: Any) -> None:
    token = phase.credentials["PHASE_TOKEN"]
    _, _, _bearer, kx_pub, share_a, wrap_key = token.split(":")
    with phase.owner() as owner:
        body = owner.get("/secrets/tokens/").json()
    assert set(body) == {"wrapped_key_share", "user_id", "offline_enabled", "organisation", "apps"}
    kx_priv = p.xor_hex(share_a, p.unwrap_share_hex(body["wrapped_key_share"], wrap_key))
    key = body["apps"][0]["environment_keys"][0]
    seed = p.decrypt_asymmetric(key["wrapped_seed"], kx_priv, kx_pub)
    assert p.kx_seed_keypair(seed)[0] == key["identity_key"]


def test_rate_limit_answers_429_with_integer_retry_after() -> None:
    from reconciler.sandbox.server import Sandbox

    with Sandbox(rate_limit=3) as sandbox:
        bearer = sandbox.credentials["PHASE_TOKEN"].split(":")[2]
        headers = {"Authorization": f"Bearer User {bearer}"}
        codes = [httpx.get(f"{sandbox.url}/v1/apps/", headers=headers) for _ in range(4)]
        assert [r.status_code for r in codes] == [200, 200, 200, 429]
        assert codes[-1].headers["Retry-After"].isdigit()
        assert codes[-1].json()["error"].startswith("Request was throttled. Expected available in")


def test_free_plan_gates() -> None:
    from reconciler.sandbox.server import Sandbox

    with Sandbox(plan="free") as sandbox:
        bearer = sandbox.credentials["PHASE_TOKEN"].split(":")[2]
        with httpx.Client(
            base_url=sandbox.url, headers={"Authorization": f"Bearer User {bearer}"}
        ) as c:
            custom = c.post("/v1/apps/", json={"name": "x", "environments": ["a"]})
            assert (custom.status_code, custom.json()["error"]) == (
                403,
                "Custom environments are not available on the Free plan.",
            )
            role = c.post("/v1/roles/", json={"name": "r", "permissions": {}})
            assert role.status_code == 403
            assert c.post("/v1/teams/", json={"name": "t"}).status_code == 403


def test_cli_sandbox_prints_exports_and_keeps_state(tmp_path: Any) -> None:
    args = ["sandbox", "--port", "0", "--data", str(tmp_path)]
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-c", "from reconciler.cli.app import main; main()", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines: dict[str, str] = {}
        assert proc.stdout is not None
        while len(lines) < 4:
            line = proc.stdout.readline()
            assert line, proc.stderr.read() if proc.stderr else ""
            if line.startswith("export "):
                name, _, value = line[len("export ") :].strip().partition("=")
                lines[name] = value.strip("'\"")
        assert time.monotonic() - started < 3.0
        bearer = lines["PHASE_TOKEN"].split(":")[2]
        r = httpx.get(
            f"{lines['PHASE_URL']}/v1/apps/", headers={"Authorization": f"Bearer User {bearer}"}
        )
        assert r.status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert (tmp_path / "phase.sqlite3").exists()


def test_a_granted_member_decrypts_with_its_own_private_key(phase: Any) -> None:
    """An SSE grant wraps the environment seed and salt for the grantee; the grantee recovers its
    private key from its own token and opens them; the salt gives the server's key digests."""
    accepted = phase.control("POST", "invites/by-email/new.hire@acme.test/accept/")
    _, _, bearer, kx_pub, share_a, wrap_key = accepted["token"].split(":")
    with phase.owner() as owner:
        app = next(a for a in owner.get("/v1/apps/").json()["data"] if a["name"] == "legacy-api")
        envs = owner.get("/v1/environments/", params={"app_id": app["id"]}).json()["data"]
        development = next(e for e in envs if e["name"] == "Development")
        body = {"apps": [{"id": app["id"], "environments": [development["id"]]}]}
        assert (
            owner.put(f"/v1/members/{accepted['member_id']}/access/", json=body).status_code == 200
        )
    headers = {"Authorization": f"Bearer User {bearer}"}
    keys = httpx.get(f"{phase.url}/secrets/tokens/", headers=headers).json()
    kx_priv = p.xor_hex(share_a, p.unwrap_share_hex(keys["wrapped_key_share"], wrap_key))
    (entry,) = keys["apps"]
    (row,) = entry["environment_keys"]
    seed = p.decrypt_asymmetric(row["wrapped_seed"], kx_priv, kx_pub)
    salt = p.decrypt_asymmetric(row["wrapped_salt"], kx_priv, kx_pub)
    assert p.kx_seed_keypair(seed)[0] == row["identity_key"]
    secrets = httpx.get(
        f"{phase.url}/v1/secrets/",
        params={"app_id": app["id"], "env": "Development"},
        headers=headers,
    ).json()
    assert {s["keyDigest"] for s in secrets} == {p.blake2b_digest(s["key"], salt) for s in secrets}
    # nobody else's key opens it
    other_pub, other_priv = p.kx_keypair()
    try:
        p.decrypt_asymmetric(row["wrapped_seed"], other_priv, other_pub)
    except p.CryptoError:
        pass
    else:
        raise AssertionError("a stranger's key opened the seed")
