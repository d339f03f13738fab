"""The ``/_sandbox/`` control API: reset, fixtures (JSON and YAML), accepting invites, PATs,
out-of-band changes, stored secrets, counters and deterministic faults."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from reconciler.crypto.password import password_auth_hash


def test_reset_restores_the_default_organisation(phase: Any) -> None:
    with phase.owner() as owner:
        owner.post("/v1/apps/", json={"name": "temporary"})
    credentials = phase.control("POST", "reset/")
    assert set(credentials) == {"PHASE_URL", "PHASE_TOKEN", "PHASE_EMAIL", "PHASE_PASSWORD"}
    assert credentials["PHASE_URL"] == phase.url and credentials["PHASE_EMAIL"] == "owner@acme.test"
    assert credentials["PHASE_TOKEN"].startswith("pss_user:v1:")
    assert credentials["PHASE_PASSWORD"] == phase.credentials["PHASE_PASSWORD"]  # stable
    with phase.client(credentials["PHASE_TOKEN"]) as owner:
        assert {a["name"] for a in owner.get("/v1/apps/").json()["data"]} == {"legacy-api", "vault"}
    with phase.owner() as old:  # the previous organisation's PAT is gone
        assert old.get("/v1/apps/").status_code == 401


def test_seed_fixture_from_yaml(phase: Any) -> None:
    fixture = """
members:
  - {email: Lee@Acme.test, role: Manager, name: Lee}
invites:
  - {email: later@acme.test}
apps:
  - name: billing
    description: Billing API
    environments: [dev, prod]
    secrets: {dev: {token: abc}}
  - {name: sealed, sse: false, environments: [Development]}
service_accounts:
  - {name: deployer, access: {billing: [prod]}}
"""
    response = httpx.post(
        f"{phase.url}/_sandbox/seed/",
        content=fixture,
        headers={"Content-Type": "application/yaml"},
    )
    assert response.status_code == 200
    created = response.json()
    assert set(created["members"]) == {"lee@acme.test"} and "lee@acme.test" in created["tokens"]
    assert set(created["apps"]) == {"billing", "sealed"}
    with phase.owner() as owner:
        apps = {a["name"]: a for a in owner.get("/v1/apps/").json()["data"]}
        assert apps["billing"]["description"] == "Billing API" and not apps["sealed"]["sseEnabled"]
        secrets = owner.get(
            "/v1/secrets/", params={"app_id": created["apps"]["billing"], "env": "dev"}
        )
        assert [(s["key"], s["value"]) for s in secrets.json()] == [("TOKEN", "abc")]
        invites = [i["inviteeEmail"] for i in owner.get("/v1/members/invites/").json()["data"]]
        assert "later@acme.test" in invites
    with phase.client(created["service_accounts"]["deployer"]["token"]) as bot:
        envs = bot.get("/v1/environments/", params={"app_id": created["apps"]["billing"]})
        assert [e["name"] for e in envs.json()["data"]] == ["prod"]
    with phase.client(created["tokens"]["lee@acme.test"]) as lee:
        assert lee.get("/v1/apps/").json() == {"data": []}
    bad = httpx.post(
        f"{phase.url}/_sandbox/seed/", json={"members": [{"email": "x@acme.test", "role": "Nope"}]}
    )
    assert bad.status_code == 400 and "Nope" in bad.json()["error"]


def test_accepting_invites_by_id_and_by_email(phase: Any) -> None:
    with phase.owner() as owner:
        roles = {r["name"]: r["id"] for r in owner.get("/v1/roles/").json()["data"]}
        made = owner.post(
            "/v1/members/invites/",
            json={"email": "joiner@acme.test", "role_id": roles["Developer"]},
        ).json()
    by_id = phase.control("POST", f"invites/{made['id']}/accept/")
    assert by_id["email"] == "joiner@acme.test" and by_id["token"].startswith("pss_user:v1:")
    by_email = phase.control("POST", "invites/by-email/new.hire@acme.test/accept/")
    with phase.owner() as owner:
        emails = {m["email"]: m for m in owner.get("/v1/members/").json()["data"]}
        assert {"joiner@acme.test", "new.hire@acme.test"} <= set(emails)
        assert emails["new.hire@acme.test"]["id"] == by_email["member_id"]
        assert owner.get("/v1/members/invites/").json()["data"] == []
    again = httpx.post(f"{phase.url}/_sandbox/invites/{made['id']}/accept/")
    assert again.status_code == 409
    assert httpx.post(f"{phase.url}/_sandbox/invites/nope/accept/").status_code == 404
    with phase.client(by_id["token"]) as joiner:
        assert joiner.get("/v1/apps/").status_code == 200


def test_out_of_band_changes(phase: Any) -> None:
    changes = [
        {"op": "rename_app", "app": "legacy-api", "name": "legacy"},
        {"op": "set_app_description", "app": "legacy", "description": "changed by hand"},
        {"op": "rename_environment", "app": "legacy", "environment": "Staging", "name": "Stage"},
        {"op": "delete_environment", "app": "legacy", "environment": "Production"},
        {"op": "set_member_role", "member": "dev@acme.test", "role": "Manager"},
        {"op": "grant_member", "member": "dana@acme.test", "app": "vault",
         "environments": ["Production"]},
        {"op": "grant_member", "member": "dana@acme.test", "app": "legacy",
         "environments": ["Development"]},
    ]  # fmt: skip
    done = phase.control("POST", "changes/", {"changes": changes})["changes"]
    assert [c["op"] for c in done] == [c["op"] for c in changes]
    with phase.owner() as owner:
        apps = {a["name"]: a for a in owner.get("/v1/apps/").json()["data"]}
        assert apps["legacy"]["description"] == "changed by hand"
        envs = owner.get("/v1/environments/", params={"app_id": apps["legacy"]["id"]}).json()
        assert [e["name"] for e in envs["data"]] == ["Development", "Stage"]
        members = {m["email"]: m for m in owner.get("/v1/members/").json()["data"]}
        assert members["dev@acme.test"]["role"]["name"] == "Manager"
        access = owner.get(f"/v1/members/{members['dana@acme.test']['id']}/access/").json()
        assert {a["name"]: [e["name"] for e in a["environments"]] for a in access["apps"]} == {
            "vault": ["Production"],
            "legacy": ["Development"],
        }
    # the E2EE grant is a real key the member opens
    token = phase.pat("dana@acme.test")
    with phase.client(token) as dana:
        body = dana.get("/secrets/tokens/").json()
    _, _, _b, kx_pub, share_a, wrap_key = token.split(":")
    from reconciler.crypto import primitives as p

    kx_priv = p.xor_hex(share_a, p.unwrap_share_hex(body["wrapped_key_share"], wrap_key))
    vault = next(a for a in body["apps"] if a["name"] == "vault")
    row = vault["environment_keys"][0]
    assert (
        p.kx_seed_keypair(p.decrypt_asymmetric(row["wrapped_seed"], kx_priv, kx_pub))[0]
        == (row["identity_key"])
    )
    more = [
        {"op": "revoke_member", "member": "dana@acme.test", "app": "vault"},
        {"op": "remove_member", "member": "dev@acme.test"},
        {"op": "delete_app", "app": "legacy"},
        {"op": "set_plan", "plan": "FR"},
    ]
    phase.control("POST", "changes/", {"changes": more})
    with phase.owner() as owner:
        assert [a["name"] for a in owner.get("/v1/apps/").json()["data"]] == ["vault"]
        assert "dev@acme.test" not in {m["email"] for m in owner.get("/v1/members/").json()["data"]}
        roles = {"name": "r", "permissions": {"permissions": {}, "app_permissions": {}}}
        assert owner.post("/v1/roles/", json=roles).status_code == 403
    for bad in ({"op": "nope", "app": "vault"}, {"op": "rename_app", "app": "missing"}, {"x": 1}):
        response = httpx.post(f"{phase.url}/_sandbox/changes/", json={"changes": [bad]})
        assert response.status_code in (400, 404)


def test_counters_per_method_and_route(phase: Any) -> None:
    assert phase.control("GET", "counters/") == {}
    with phase.owner() as owner:
        app = owner.get("/v1/apps/").json()["data"][0]["id"]
        owner.get("/v1/apps/")
        owner.get(f"/public/v1/apps/{app}/")
        owner.patch("/v1/apps/")
        owner.get("/v1/nothing/")  # a 404 route is not counted
        owner.get("/secrets/tokens/")
    counters = phase.control("GET", "counters/")
    assert counters == {
        "GET /v1/apps/": 2,
        "GET /v1/apps/{app_id}/": 1,
        "PATCH /v1/apps/": 1,
        "GET /secrets/tokens/": 1,
        "total": 5,
    }
    assert phase.control("DELETE", "counters/") == {}


def test_faults_are_deterministic(phase: Any) -> None:
    url = f"{phase.url}/v1/apps/"
    with phase.owner() as owner:
        headers = dict(owner.headers)
    fault = phase.control(
        "POST", "faults/", {"errors": 2, "error_status": 502, "throttle": 1, "retry_after": 3}
    )
    assert fault["errors"] == 2
    statuses = [httpx.get(url, headers=headers) for _ in range(4)]
    assert [r.status_code for r in statuses] == [502, 502, 429, 200]
    assert statuses[0].json() == {"error": "Internal server error."}
    assert statuses[2].headers["Retry-After"] == "3"
    phase.control("POST", "faults/", {"error_every": 3})
    assert [httpx.get(url, headers=headers).status_code for _ in range(6)] == [
        200, 200, 503, 200, 200, 503,
    ]  # fmt: skip
    phase.control("POST", "faults/", {"drops": 1})
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(url, headers=headers)
    assert httpx.get(url, headers=headers).status_code == 200
    # a lost answer: the change is made, the client never hears of it
    phase.control("POST", "faults/", {"lost": 1})
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.post(url, headers=headers, json={"name": "ghost"})
    names = [a["name"] for a in httpx.get(url, headers=headers).json()["data"]]
    assert names.count("ghost") == 1
    phase.control("POST", "faults/", {"latency_ms": 150})
    started = time.monotonic()
    httpx.get(url, headers=headers)
    assert time.monotonic() - started >= 0.15
    cleared = phase.control("DELETE", "faults/")
    assert cleared["latency_ms"] == 0 and cleared["drops"] == 0
    assert phase.control("GET", "faults/") == cleared
    # control calls are never faulted
    phase.control("POST", "faults/", {"errors": 5})
    assert phase.control("GET", "counters/")["total"] >= 1
    bad = httpx.post(f"{phase.url}/_sandbox/faults/", json={"explode": 1})
    assert bad.status_code == 400


def test_unknown_control_paths_are_404(phase: Any) -> None:
    assert httpx.get(f"{phase.url}/_sandbox/nothing/").status_code == 404
    assert httpx.get(f"{phase.url}/_sandbox/reset/").status_code == 404


def test_faults_can_be_limited_to_matching_requests(phase: Any) -> None:
    phase.control("POST", "faults/", {"errors": 1, "error_status": 502, "only": "POST /v1/apps/"})
    with phase.owner() as owner:
        assert owner.get("/v1/apps/").status_code == 200  # not matched: untouched
        assert owner.post("/v1/apps/", json={"name": "once"}).status_code == 502
        assert owner.post("/v1/apps/", json={"name": "once"}).status_code == 201
    # GraphQL requests match on their operation name
    phase.control("POST", "faults/", {"errors": 1, "only": "GetServerKey"})
    session = httpx.Client(base_url=phase.url, timeout=10)
    creds = phase.credentials
    login = session.post(
        "/auth/password/login/",
        json={
            "email": creds["PHASE_EMAIL"],
            "authHash": password_auth_hash(creds["PHASE_PASSWORD"], creds["PHASE_EMAIL"]),
        },
    )
    assert login.status_code == 200
    query = {"operationName": "GetServerKey", "query": "query GetServerKey { serverPublicKey }"}
    assert session.post("/graphql/", json=query).status_code == 503
    assert session.post("/graphql/", json=query).status_code == 200
    with pytest.raises(httpx.HTTPStatusError):
        phase.control("POST", "faults/", {"only": 3})
