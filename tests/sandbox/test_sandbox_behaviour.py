"""Sandbox behaviour beyond the recorded transcript: the E2EE revocation hazard
(docs/phase-api.md#e2ee-revocation-hazard), the throttle, the Free-plan gates, the CLI start-up, and
a grantee decrypting with its own key."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import httpx

from reconciler.crypto import primitives as p


def test_e2ee_revocation_hazard_is_faithful(phase: Any) -> None:
    """docs/phase-api.md#e2ee-revocation-hazard: an access PUT that leaves out an E2EE app revokes
    it and wipes its keys."""
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
