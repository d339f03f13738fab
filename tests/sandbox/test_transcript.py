"""Conformance: every section of docs/phase-api.md#recorded-exchanges replayed against the sandbox,
comparing status codes, response key sets and error messages with the recording.

The recording's principals map to the default organisation: ``$PAT`` is the owner's PAT,
``$DEV_PAT`` a PAT of the developer ``dana@acme.test``, ``$SA_TOKEN`` the token of a service
account with the Manager role (seeded through ``/_sandbox/seed/``), ``$SA2_TOKEN`` the token a
``POST /v1/service-accounts/`` returns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from reconciler.crypto import primitives as p

APP = {"id", "name", "description", "sseEnabled", "createdAt", "updatedAt"}
ENV = {"id", "name", "envType", "index", "createdAt", "updatedAt"}
SECRET = {
    "id", "key", "value", "comment", "tags", "override", "type", "lifecycle", "path",
    "keyDigest", "version", "createdAt", "updatedAt", "environment", "folder",
}  # fmt: skip
ROLE = {"id", "name", "description", "color", "isDefault", "createdAt"}
SA = {"id", "name", "role", "createdAt", "updatedAt"}
TOKEN = {"id", "name", "createdAt", "expiresAt"}
MEMBER = {"id", "username", "fullName", "email", "role", "createdAt", "updatedAt"}
INVITE = {"id", "inviteeEmail", "role", "invitedBy", "createdAt", "expiresAt", "valid"}
ACCESS_ENV = {"id", "name", "envType"}
KEY_ROW = {
    "id", "environment", "paths", "identity_key", "wrapped_seed", "wrapped_salt", "created_at",
    "updated_at", "deleted_at", "user", "service_account",
}  # fmt: skip
ROOT = {
    "message": "API is alive. Please see https://docs.phase.dev/public-api for documentation on "
    "available endpoints.",
    "status": "ok",
}
INSTANT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


def unordered(apps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """An access view's apps with their environments sorted by name: the real server lists
    them in no fixed order (the sandbox shuffles them)."""
    return [a | {"environments": sorted(a["environments"], key=lambda e: e["name"])} for a in apps]


def error(response: httpx.Response, status: int, message: str) -> None:
    assert (response.status_code, response.json()) == (status, {"error": message})


@dataclass
class Recording:
    """The transcript's principals in a fresh sandbox organisation."""

    url: str
    pat: str
    dev_pat: str
    sa_token: str
    roles: dict[str, str]
    members: dict[str, str]

    def as_(self, token: str) -> httpx.Client:
        kind = "User" if token.startswith("pss_user") else "ServiceAccount"
        header = f"Bearer {kind} {token.split(':')[2]}"
        return httpx.Client(base_url=self.url, headers={"Authorization": header}, timeout=10)


@pytest.fixture
def rec(phase: Any) -> Recording:
    seeded = phase.control(
        "POST", "seed/", {"service_accounts": [{"name": "demo-sa", "role": "Manager"}]}
    )
    with phase.owner() as owner:
        roles = {r["name"]: r["id"] for r in owner.get("/v1/roles/").json()["data"]}
        members = {m["email"]: m["id"] for m in owner.get("/v1/members/").json()["data"]}
    return Recording(
        phase.url,
        phase.credentials["PHASE_TOKEN"],
        phase.pat("dana@acme.test"),
        seeded["service_accounts"]["demo-sa"]["token"],
        roles,
        members,
    )


def test_1_to_3_health_and_public_roots(rec: Recording) -> None:
    health = httpx.get(f"{rec.url}/health/")
    assert (health.status_code, set(health.json())) == (200, {"status", "version"})
    assert health.json()["status"] == "alive"
    for root in ("/", "/public/", "/service/", "/service/public/"):
        response = httpx.get(rec.url + root)
        assert (response.status_code, response.json()) == (200, ROOT)


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (None, "Authentication credentials were not provided."),
        ("Bearer {pss}", "Invalid token"),  # 8: the whole pss string is not a bearer
        ("User {bearer}", "Invalid token"),  # 9: no "Bearer"
        ("Bearer Robot {bearer}", "Invalid token"),
        ("Bearer User", "Invalid token"),
        ("Bearer User deadbeef", "Token expired or deleted"),  # 10
        ("Bearer Service deadbeef", "Token expired or deleted"),
        ("Bearer ServiceAccount {bearer}", "Token expired or deleted"),  # a PAT is no SA token
    ],
)
def test_4_8_9_10_authentication_failures(rec: Recording, header: str | None, message: str) -> None:
    headers = {}
    if header is not None:
        headers["Authorization"] = header.format(pss=rec.pat, bearer=rec.pat.split(":")[2])
    response = httpx.get(f"{rec.url}/v1/apps/", headers=headers)
    error(response, 401, message)


@pytest.mark.parametrize("prefix", ["", "/public", "/service", "/service/public"])
def test_5_to_7_list_apps_with_pat_and_sa_token_under_every_prefix(
    rec: Recording, prefix: str
) -> None:
    with rec.as_(rec.pat) as owner, rec.as_(rec.sa_token) as sa:
        apps = owner.get(f"{prefix}/v1/apps/")
        assert apps.status_code == 200 and set(apps.json()) == {"data"}
        assert all(set(a) == APP for a in apps.json()["data"])
        assert {a["name"] for a in apps.json()["data"]} == {"legacy-api", "vault"}
        assert sa.get(f"{prefix}/v1/apps/").json() == {"data": []}


def test_11_to_18_apps_and_environments(rec: Recording) -> None:
    with rec.as_(rec.pat) as owner:
        made = owner.post("/v1/apps/", json={"name": "demo-app", "description": "by the test"})
        assert made.status_code == 201
        app = made.json()
        assert set(app) == APP | {"environments"} and app["sseEnabled"] is True
        assert all(INSTANT.match(app[k]) for k in ("createdAt", "updatedAt"))
        assert [(e["name"], e["envType"], e["index"]) for e in app["environments"]] == [
            ("Development", "dev", 0),
            ("Staging", "staging", 1),
            ("Production", "prod", 2),
        ]
        assert all(set(e) == ENV for e in app["environments"])
        got = owner.get(f"/v1/apps/{app['id']}/")
        assert got.status_code == 200 and got.json() == {
            k: v for k, v in app.items() if k != "environments"
        }
        renamed = owner.put(f"/v1/apps/{app['id']}/", json={"name": "demo-app-renamed"})
        assert renamed.status_code == 200 and set(renamed.json()) == APP
        assert renamed.json()["name"] == "demo-app-renamed"
        assert renamed.json()["description"] == "by the test"
        assert renamed.json()["createdAt"] == app["createdAt"]
        custom = owner.post("/v1/apps/", json={"name": "demo-app2", "environments": ["dev", "qa"]})
        assert custom.status_code == 201 and custom.json()["description"] is None
        assert [(e["name"], e["envType"], e["index"]) for e in custom.json()["environments"]] == [
            ("dev", "custom", 0),
            ("qa", "custom", 1),
        ]
        listed = owner.get("/v1/environments/", params={"app_id": app["id"]})
        assert listed.status_code == 200
        assert listed.json()["data"] == app["environments"]
        qa = owner.post(f"/v1/environments/?app_id={app['id']}", json={"name": "QA"})
        assert qa.status_code == 201 and set(qa.json()) == ENV
        assert (qa.json()["envType"], qa.json()["index"]) == ("custom", 3)
        assert owner.get(f"/v1/environments/{qa.json()['id']}/").json() == qa.json()
        renamed_env = owner.put(f"/v1/environments/{qa.json()['id']}/", json={"name": "QA2"})
        assert renamed_env.status_code == 200 and renamed_env.json()["name"] == "QA2"
        # 41: query parameters may be camelCase
        camel = owner.get("/v1/environments/", params={"appId": app["id"]}).json()["data"]
        assert [e["name"] for e in camel] == ["Development", "Staging", "Production", "QA2"]


def test_19_20_29_48_secrets_over_sse(rec: Recording) -> None:
    with rec.as_(rec.pat) as owner:
        app = owner.post("/v1/apps/", json={"name": "demo-app"}).json()
        development = app["environments"][0]
        params = {"app_id": app["id"], "env": "Development"}
        secret = {"key": "DEMO_KEY", "value": "hello", "path": "/", "comment": "from the test"}
        made = owner.post("/v1/secrets/", params=params, json={"secrets": [secret]})
        assert made.status_code == 200 and len(made.json()) == 1
        row = made.json()[0]
        assert set(row) == SECRET
        assert (row["key"], row["value"], row["comment"]) == ("DEMO_KEY", "hello", "from the test")
        assert (row["tags"], row["override"], row["type"], row["lifecycle"]) == (
            [],
            None,
            "secret",
            "static",
        )
        assert (row["path"], row["version"], row["environment"], row["folder"]) == (
            "/",
            1,
            development["id"],
            None,
        )
        assert re.fullmatch(r"[0-9a-f]{64}", row["keyDigest"])
        assert owner.get("/v1/secrets/", params=params).json() == [row]
        sa = owner.post(
            "/v1/service-accounts/", json={"name": "reader", "role_id": rec.roles["Service"]}
        ).json()
        grant = {"apps": [{"id": app["id"], "environments": [development["id"]]}]}
        assert owner.put(f"/v1/service-accounts/{sa['id']}/access/", json=grant).status_code == 200
        members = rec.members
        access = owner.put(f"/v1/members/{members['dana@acme.test']}/access/", json=grant)
        assert access.status_code == 200
    with rec.as_(sa["initialToken"]["token"]) as sa2, rec.as_(rec.dev_pat) as dev:
        assert sa2.get("/v1/secrets/", params=params).json() == [row]
        assert dev.get("/v1/secrets/", params=params).json() == [row]


def test_21_to_23_roles(rec: Recording) -> None:
    with rec.as_(rec.pat) as owner:
        roles = owner.get("/v1/roles/").json()["data"]
        assert [r["name"] for r in roles] == ["Owner", "Admin", "Manager", "Developer", "Service"]
        assert all(set(r) == ROLE and r["isDefault"] and r["color"] == "" for r in roles)
        assert roles[0]["description"] == (
            "The organisation owner, limited to a single user, with full access to all "
            "resources and actions."
        )
        perms = {
            "permissions": {"Apps": ["read"], "Members": ["read"]},
            "app_permissions": {"Environments": ["read"], "Secrets": ["read"]},
        }
        body = {"name": "Auditor", "description": "read-only", "color": "#123456"}
        made = owner.post("/v1/roles/", json=body | {"permissions": perms})
        assert made.status_code == 201 and set(made.json()) == ROLE | {"permissions"}
        assert made.json()["isDefault"] is False
        assert made.json()["permissions"] == {
            "permissions": perms["permissions"],
            "appPermissions": perms["app_permissions"],
        }
        got = owner.get(f"/v1/roles/{made.json()['id']}/").json()
        assert got == made.json()
        # read back in Postgres jsonb key order, as recorded
        assert list(got["permissions"]["appPermissions"]) == ["Secrets", "Environments"]


def test_24_to_33_service_accounts_and_tokens(rec: Recording) -> None:
    with rec.as_(rec.pat) as owner:
        made = owner.post(
            "/v1/service-accounts/", json={"name": "demo-sa2", "role_id": rec.roles["Service"]}
        )
        assert made.status_code == 201
        sa = made.json()
        assert set(sa) == SA | {"initialToken"}
        assert sa["role"] == {"id": rec.roles["Service"], "name": "Service"}
        initial = sa["initialToken"]
        assert set(initial) == TOKEN | {"token", "bearerToken"}
        assert (initial["name"], initial["expiresAt"]) == ("Default", None)
        assert re.fullmatch(r"pss_service:v2:([0-9a-f]{64}:){3}[0-9a-f]{64}", initial["token"])
        assert initial["bearerToken"] == f"ServiceAccount {initial['token'].split(':')[2]}"
        listed = owner.get("/v1/service-accounts/").json()["data"]
        assert [s["name"] for s in listed] == ["demo-sa2", "demo-sa"]
        assert all(set(s) == SA for s in listed)
        detail = owner.get(f"/v1/service-accounts/{sa['id']}/").json()
        assert set(detail) == SA | {"tokens", "apps"}
        assert detail["apps"] == [] and [set(t) for t in detail["tokens"]] == [TOKEN]
        app = owner.post("/v1/apps/", json={"name": "demo-app"}).json()
        dev_env = app["environments"][0]
        grant = {"apps": [{"id": app["id"], "environments": [dev_env["id"]]}]}
        granted = owner.put(f"/v1/service-accounts/{sa['id']}/access/", json=grant)
        assert granted.status_code == 200
        assert granted.json()["apps"] == [
            {
                "id": app["id"],
                "name": "demo-app",
                "environments": [{"id": dev_env["id"], "name": "Development", "envType": "dev"}],
            }
        ]
        second = owner.post(f"/v1/service-accounts/{sa['id']}/tokens/", json={"name": "second"})
        assert second.status_code == 201 and set(second.json()) == TOKEN | {"token", "bearerToken"}
        error(
            owner.get(f"/v1/service-accounts/{sa['id']}/tokens/"), 405, 'Method "GET" not allowed.'
        )
        tokens = owner.get(f"/v1/service-accounts/{sa['id']}/").json()["tokens"]
        assert [t["name"] for t in tokens] == ["second", "Default"]
        gone = owner.delete(f"/v1/service-accounts/{sa['id']}/tokens/{second.json()['id']}/")
        assert gone.status_code == 204 and gone.content == b""
        again = owner.delete(f"/v1/service-accounts/{sa['id']}/tokens/{second.json()['id']}/")
        error(again, 404, "Token not found.")
    with rec.as_(initial["token"]) as sa2:
        assert [a["id"] for a in sa2.get("/v1/apps/").json()["data"]] == [app["id"]]
    with rec.as_(second.json()["token"]) as revoked:
        error(revoked.get("/v1/apps/"), 401, "Token expired or deleted")


def test_34_manager_service_account_creates_an_app(rec: Recording) -> None:
    with rec.as_(rec.sa_token) as sa:
        made = sa.post("/v1/apps/", json={"name": "demo-sa-app"})
        assert made.status_code == 201 and made.json()["description"] is None
        assert [e["name"] for e in made.json()["environments"]] == [
            "Development",
            "Staging",
            "Production",
        ]
        assert [a["name"] for a in sa.get("/v1/apps/").json()["data"]] == ["demo-sa-app"]
    with rec.as_(rec.pat) as owner:  # global-access members joined the new app
        assert "demo-sa-app" in {a["name"] for a in owner.get("/v1/apps/").json()["data"]}


def test_35_to_40_and_43_members_and_invites(rec: Recording) -> None:
    with rec.as_(rec.pat) as owner:
        members = owner.get("/v1/members/").json()["data"]
        assert [m["email"] for m in members] == [
            "owner@acme.test",
            "admin@acme.test",
            "dana@acme.test",
            "dev@acme.test",
        ]
        assert all(set(m) == MEMBER for m in members)
        dana = members[2]
        assert dana["username"] == dana["email"] and dana["fullName"] == "Dana Developer"
        assert dana["role"] == {"id": rec.roles["Developer"], "name": "Developer"}
        assert owner.get(f"/v1/members/{dana['id']}/").json() == dana
        invite = owner.post(
            "/v1/members/invites/",
            json={"email": "Invitee@Acme.test ", "role_id": rec.roles["Developer"]},
        )
        assert invite.status_code == 201 and set(invite.json()) == INVITE
        body = invite.json()
        assert body["inviteeEmail"] == "invitee@acme.test" and body["valid"] is True
        assert body["invitedBy"] == {"type": "member", "email": "owner@acme.test"}
        listed = owner.get("/v1/members/invites/").json()["data"]
        assert [i["inviteeEmail"] for i in listed] == ["invitee@acme.test", "new.hire@acme.test"]
        assert owner.delete(f"/v1/members/invites/{body['id']}/").status_code == 204
        camel = owner.post(
            "/v1/members/invites/",
            json={"email": "camel@acme.test", "roleId": rec.roles["Developer"]},
        )
        error(camel, 400, "Missing required field: role_id")
        admin = owner.post(
            "/v1/members/invites/",
            json={"email": "admin2@acme.test", "role_id": rec.roles["Admin"]},
        )
        error(admin, 400, "Members cannot be invited with the 'Admin' role.")


@pytest.mark.parametrize(
    "path",
    ["/v1/apps", "/public/v1/apps", "/v1/roles", "/secrets/tokens", "/health", "/v1/members"],
)
def test_42_trailing_slash_is_required(rec: Recording, path: str) -> None:
    with rec.as_(rec.pat) as owner:
        response = owner.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert response.text.startswith("\n<!doctype html>") and "<h1>Not Found</h1>" in response.text


def test_44_to_49_developer_before_and_after_a_grant(rec: Recording) -> None:
    with rec.as_(rec.pat) as owner:
        app = owner.post("/v1/apps/", json={"name": "demo-app", "description": "d"}).json()
        envs = [e["id"] for e in app["environments"]]
        params = {"app_id": app["id"], "env": "Development"}
        owner.post("/v1/secrets/", params=params, json={"secrets": [{"key": "K", "value": "v"}]})
    dana = rec.members["dana@acme.test"]
    with rec.as_(rec.dev_pat) as dev:
        error(dev.get(f"/v1/apps/{app['id']}/"), 403, "User cannot access this app")
        assert app["id"] not in {a["id"] for a in dev.get("/v1/apps/").json()["data"]}
        with rec.as_(rec.pat) as owner:
            grant = {"apps": [{"id": app["id"], "environments": envs[:2]}]}
            put = owner.put(f"/v1/members/{dana}/access/", json=grant)
            assert put.status_code == 200 and set(put.json()) == MEMBER | {"apps"}
            expected = [
                {
                    "id": app["id"],
                    "name": "demo-app",
                    "environments": [
                        {"id": envs[0], "name": "Development", "envType": "dev"},
                        {"id": envs[1], "name": "Staging", "envType": "staging"},
                    ],
                }
            ]
            assert unordered(put.json()["apps"]) == expected
            got = owner.get(f"/v1/members/{dana}/access/").json()
            assert got | {"apps": unordered(got["apps"])} == put.json() | {"apps": expected}
        listed = dev.get("/v1/apps/").json()["data"]
        assert [a["id"] for a in listed] == [app["id"]] and set(listed[0]) == APP
        assert [s["key"] for s in dev.get("/v1/secrets/", params=params).json()] == ["K"]
        role = {"name": "x", "permissions": {"permissions": {}, "app_permissions": {}}}
        error(dev.post("/v1/roles/", json=role), 403, "You don't have permission to create roles.")


def test_50_owner_access_cannot_be_changed(rec: Recording) -> None:
    with rec.as_(rec.pat) as owner:
        owner_id = rec.members["owner@acme.test"]
        locked = owner.put(f"/v1/members/{owner_id}/access/", json={"apps": []})
        error(locked, 403, "Access cannot be changed for members with a global access role.")


@pytest.mark.parametrize("who", ["pat", "sa_token"])
@pytest.mark.parametrize("prefix", ["", "/service"])
def test_51_to_53_key_shares_recover_the_private_key(rec: Recording, who: str, prefix: str) -> None:
    with rec.as_(rec.pat) as owner:
        app = owner.post("/v1/apps/", json={"name": "keys"}).json()
        sa_id = next(
            s["id"]
            for s in owner.get("/v1/service-accounts/").json()["data"]
            if s["name"] == "demo-sa"
        )
        grant = {"apps": [{"id": app["id"], "environments": [app["environments"][2]["id"]]}]}
        assert owner.put(f"/v1/service-accounts/{sa_id}/access/", json=grant).status_code == 200
    token = getattr(rec, who)
    _, _, _bearer, kx_pub, share_a, wrap_key = token.split(":")
    with rec.as_(token) as client:
        response = client.get(f"{prefix}/secrets/tokens/")
    assert response.status_code == 200
    body = response.json()
    owner_key = "user_id" if who == "pat" else "account_id"
    assert list(body) == ["wrapped_key_share", owner_key, "offline_enabled", "organisation", "apps"]
    assert body["offline_enabled"] is False and set(body["organisation"]) == {"id", "name"}
    kx_priv = p.xor_hex(share_a, p.unwrap_share_hex(body["wrapped_key_share"], wrap_key))
    assert p.ed25519_pk_to_kx(_identity(rec, who, body[owner_key])) == kx_pub
    seen = 0
    for entry in body["apps"]:
        assert set(entry) == {"id", "name", "encryption", "environment_keys"}
        assert entry["encryption"] in ("SSE", "E2E")
        for row in entry["environment_keys"]:
            assert set(row) == KEY_ROW and set(row["environment"]) == {
                "id", "name", "env_type", "index", "created_at", "updated_at",
            }  # fmt: skip
            seed = p.decrypt_asymmetric(row["wrapped_seed"], kx_priv, kx_pub)
            assert p.kx_seed_keypair(seed)[0] == row["identity_key"]
            seen += 1
    assert seen == (3 + 2 + 3 if who == "pat" else 1)  # legacy-api, vault, keys / Production


def _identity(rec: Recording, who: str, principal_id: str) -> str:
    principals = httpx.get(f"{rec.url}/_sandbox/principals/").json()
    group = principals["members" if who == "pat" else "service_accounts"]
    return str(next(x["identity_key"] for x in group if x["id"] == principal_id))


def test_secrets_tokens_rejects_dead_tokens_with_403(rec: Recording) -> None:
    response = httpx.get(f"{rec.url}/secrets/tokens/", headers={"Authorization": "Bearer User x"})
    assert (response.status_code, response.json()) == (403, {"error": "Token expired or deleted"})
    assert httpx.get(f"{rec.url}/public/secrets/tokens/").status_code == 404
