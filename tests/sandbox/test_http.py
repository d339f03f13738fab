"""Transport and pipeline rules of docs/phase-api.md#wire-conventions, #authentication, #throttling:
the order of authentication, throttle, permission and 405 checks, content negotiation, request
bodies, context resolution and the per-principal throttle."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from reconciler.sandbox.server import Sandbox


def error(response: httpx.Response, status: int, message: str) -> None:
    assert (response.status_code, response.json()) == (status, {"error": message})


@pytest.fixture
def dev(phase: Any) -> httpx.Client:
    return phase.client(phase.pat("dana@acme.test"))  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("method", "path", "as_dev", "status", "message"),
    [
        # METHOD_TO_ACTION lacks PATCH/HEAD/OPTIONS: 405 from initial()
        ("PATCH", "/v1/apps/", False, 405, 'Method "PATCH" not allowed.'),
        ("OPTIONS", "/v1/roles/", False, 405, 'Method "OPTIONS" not allowed.'),
        # a mapped method the view lacks: permission check first, then 405
        ("DELETE", "/v1/roles/", True, 403, "You don't have permission to delete roles."),
        ("DELETE", "/v1/roles/", False, 405, 'Method "DELETE" not allowed.'),
        ("PUT", "/v1/teams/", True, 403, "You don't have permission to update teams."),
        ("PUT", "/v1/teams/", False, 405, 'Method "PUT" not allowed.'),
        # members views restricted by http_method_names: 405 before the permission check
        ("POST", "/v1/members/", True, 405, 'Method "POST" not allowed.'),
        ("DELETE", "/v1/members/invites/", True, 405, 'Method "DELETE" not allowed.'),
        ("GET", "/v1/members/invites/x/", True, 405, 'Method "GET" not allowed.'),
    ],
)
def test_405_and_permission_ordering(
    phase: Any, dev: httpx.Client, method: str, path: str, as_dev: bool, status: int, message: str
) -> None:
    with phase.owner() as owner:
        client = dev if as_dev else owner
        error(client.request(method, path), status, message)


def test_tokens_collection_checks_create_permission_before_405(
    phase: Any, dev: httpx.Client
) -> None:
    with phase.owner() as owner:
        service = next(
            r["id"] for r in owner.get("/v1/roles/").json()["data"] if r["name"] == "Service"
        )
        sa = owner.post("/v1/service-accounts/", json={"name": "s", "role_id": service}).json()
        path = f"/v1/service-accounts/{sa['id']}/tokens/"
        error(owner.get(path), 405, 'Method "GET" not allowed.')
        error(owner.patch(path), 405, 'Method "PATCH" not allowed.')
    error(dev.get(path), 403, "You don't have permission to create service account tokens.")
    error(dev.put(path), 403, "You don't have permission to create service account tokens.")


def test_authentication_comes_before_405(phase: Any) -> None:
    error(
        httpx.patch(f"{phase.url}/v1/apps/"), 401, "Authentication credentials were not provided."
    )
    error(
        httpx.post(f"{phase.url}/v1/members/", headers={"Authorization": "Bearer User x"}),
        401,
        "Token expired or deleted",
    )


@pytest.mark.parametrize(
    ("accept", "status"),
    [("text/html", 406), ("application/json", 200), ("*/*", 200), ("text/html, */*;q=0.1", 200)],
)
def test_content_negotiation(phase: Any, accept: str, status: int) -> None:
    with phase.owner() as owner:
        response = owner.get("/v1/apps/", headers={"Accept": accept})
    assert response.status_code == status
    if status == 406:
        assert response.json() == {"error": "Could not satisfy the request Accept header."}


def test_request_bodies(phase: Any) -> None:
    with phase.owner() as owner:
        apps = owner.get("/v1/apps/").json()["data"]
        app = next(a["id"] for a in apps if a["name"] == "legacy-api")
        json_type = {"Content-Type": "application/json"}
        bad = owner.post("/v1/apps/", content=b"{nope", headers=json_type)
        error(
            bad,
            400,
            "JSON parse error - Expecting property name enclosed in double quotes: "
            "line 1 column 2 (char 1)",
        )
        error(owner.post("/v1/apps/", json=["x"]), 400, "Request body must be a JSON object.")
        error(owner.put(f"/v1/apps/{app}/", json=["x"]), 500, "Internal server error.")
        error(
            owner.post("/v1/apps/", content=b"name=x", headers={"Content-Type": "text/plain"}),
            415,
            'Unsupported media type "text/plain" in request.',
        )
        # no Content-Type: no parser matches "" (recorded on a real server)
        error(
            owner.post("/v1/apps/", content=b'{"name": "x"}'),
            415,
            'Unsupported media type "" in request.',
        )
        form = owner.post("/v1/apps/", data={"name": "from-a-form"})
        assert form.status_code == 201 and form.json()["name"] == "from-a-form"


def test_camel_case_body_keys_are_ignored_and_query_keys_accepted(phase: Any) -> None:
    with phase.owner() as owner:
        roles = {r["name"]: r["id"] for r in owner.get("/v1/roles/").json()["data"]}
        sa = owner.post(
            "/v1/service-accounts/",
            json={"name": "camel", "role_id": roles["Service"], "tokenName": "ignored"},
        ).json()
        assert sa["initialToken"]["name"] == "Default"
        token = owner.post(
            f"/v1/service-accounts/{sa['id']}/tokens/",
            json={"name": "t", "expiresAt": "2999-01-01T00:00:00Z"},
        )
        assert token.status_code == 201 and token.json()["expiresAt"] is None
        legacy = next(a for a in owner.get("/v1/apps/").json()["data"] if a["name"] == "legacy-api")
        by_camel = owner.get("/v1/environments/", params={"appId": legacy["id"]})
        assert len(by_camel.json()["data"]) == 3


def test_context_resolution(phase: Any) -> None:
    with phase.owner() as owner:
        apps = {a["name"]: a["id"] for a in owner.get("/v1/apps/").json()["data"]}
        legacy, vault = apps["legacy-api"], apps["vault"]
        # ?app_id= wins over the URL
        assert owner.get(f"/v1/apps/{vault}/", params={"app_id": legacy}).json()["name"] == (
            "legacy-api"
        )
        error(owner.get("/v1/apps/nope/"), 404, "App with ID nope not found")
        error(owner.get("/v1/environments/nope/"), 404, "Environment not found")
        error(owner.get("/v1/environments/"), 403, "Could not resolve app from request.")
        missing_env = owner.get("/v1/secrets/", params={"app_id": legacy, "env": "Nope"})
        error(missing_env, 404, f"Environment 'Nope' not found in App {legacy}")
        error(
            owner.get("/v1/secrets/", params={"app_id": "x", "env": "Dev"}),
            404,
            "App with ID x not found",
        )
        error(
            owner.get("/v1/secrets/", params={"app_id": legacy}),
            403,
            "Environment context required. Supply `app_id` and `env` as query parameters.",
        )
        env = owner.get("/v1/environments/", params={"app_id": legacy}).json()["data"][0]
        by_header = owner.get("/v1/secrets/", headers={"Environment": env["id"]})
        assert {s["key"] for s in by_header.json()} == {"DATABASE_URL", "API_KEY"}
        error(
            owner.get("/v1/secrets/", headers={"Environment": "nope"}), 401, "Environment not found"
        )
        # a detail URL ignores the Environment header
        assert owner.get(f"/v1/apps/{legacy}/", headers={"Environment": "nope"}).status_code == 200
        secret_id = by_header.json()[0]["id"]
        by_secret = owner.get("/v1/secrets/", params={"secret_id": secret_id})
        assert by_secret.status_code == 200
        error(owner.get("/v1/secrets/", params={"secret_id": "nope"}), 404, "Secret not found")


def test_app_access_is_403_for_users_and_401_for_service_accounts(
    phase: Any, dev: httpx.Client
) -> None:
    seeded = phase.control("POST", "seed/", {"service_accounts": [{"name": "bot"}]})
    with phase.owner() as owner:
        legacy = next(a for a in owner.get("/v1/apps/").json()["data"] if a["name"] == "legacy-api")
    error(dev.get(f"/v1/apps/{legacy['id']}/"), 403, "User cannot access this app")
    error(
        dev.get("/v1/environments/", params={"app_id": legacy["id"]}),
        403,
        "User cannot access this app",
    )
    error(
        dev.get("/v1/secrets/", params={"app_id": legacy["id"], "env": "Staging"}),
        403,
        "User cannot access this environment",
    )
    with phase.client(seeded["service_accounts"]["bot"]["token"]) as bot:
        error(bot.get(f"/v1/apps/{legacy['id']}/"), 401, "Service account cannot access this app")
        error(
            bot.get("/v1/secrets/", params={"app_id": legacy["id"], "env": "Staging"}),
            401,
            "Service account cannot access this environment",
        )


def test_a_removed_members_pat_is_user_not_found(phase: Any, dev: httpx.Client) -> None:
    with phase.owner() as owner:
        dana = next(
            m["id"]
            for m in owner.get("/v1/members/").json()["data"]
            if m["email"] == "dana@acme.test"
        )
        assert owner.delete(f"/v1/members/{dana}/").status_code == 204
    error(dev.get("/v1/apps/"), 404, "User not found")


def test_throttle_is_per_principal_with_integer_retry_after() -> None:
    with Sandbox(rate_limit=3) as sandbox:
        token = sandbox.credentials["PHASE_TOKEN"]
        owner = {"Authorization": f"Bearer User {token.split(':')[2]}"}
        other = httpx.post(f"{sandbox.url}/_sandbox/members/dana@acme.test/tokens/").json()
        dana = {"Authorization": f"Bearer User {other['token'].split(':')[2]}"}
        url = sandbox.url
        # requests the view rejects (403/405) still count
        apps = httpx.get(f"{url}/v1/apps/", headers=owner)
        vault = next(a["id"] for a in apps.json()["data"] if a["name"] == "vault")
        codes = [
            apps.status_code,
            httpx.patch(f"{url}/v1/apps/", headers=owner).status_code,
            httpx.get(f"{url}/v1/apps/{vault}/", headers=owner).status_code,
        ]
        assert codes == [200, 405, 403]
        throttled = httpx.get(f"{url}/v1/roles/", headers=owner)
        assert throttled.status_code == 429
        wait = throttled.headers["Retry-After"]
        assert wait.isdigit() and 1 <= int(wait) <= 60
        assert throttled.json() == {
            "error": f"Request was throttled. Expected available in {wait} seconds."
        }
        assert httpx.get(f"{url}/secrets/tokens/", headers=owner).status_code == 429
        assert httpx.get(f"{url}/v1/apps/", headers=dana).status_code == 200
        # unauthenticated requests are refused before the throttle
        assert httpx.get(f"{url}/v1/apps/").status_code == 401
