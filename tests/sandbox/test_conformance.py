"""Conformance with a real Phase server (console v2.73.2, self-hosted): the cases where a fresh
sandbox once answered differently from the real server when the same scripted requests were
sent to both. Every expectation below is the real server's answer."""

from __future__ import annotations

import datetime
from typing import Any

import httpx
import pytest

JSON = {"Content-Type": "application/json"}


def error(response: httpx.Response, status: int, message: str) -> None:
    assert (response.status_code, response.json()) == (status, {"error": message})


@pytest.fixture
def owner(phase: Any) -> Any:
    with phase.owner() as client:
        yield client


def role_id(owner: httpx.Client, name: str) -> str:
    return next(r["id"] for r in owner.get("/v1/roles/").json()["data"] if r["name"] == name)


def legacy_api(owner: httpx.Client) -> str:
    return next(a["id"] for a in owner.get("/v1/apps/").json()["data"] if a["name"] == "legacy-api")


# E-mail validation: Django's EmailValidator ----------------------------------------------


@pytest.mark.parametrize("email", ["x@localhost", "x@[127.0.0.1]", "x@exämple.com"])
def test_invites_accept_what_djangos_email_validator_accepts(owner: Any, email: str) -> None:
    made = owner.post(
        "/v1/members/invites/", json={"email": email, "role_id": role_id(owner, "Developer")}
    )
    assert made.status_code == 201 and made.json()["inviteeEmail"] == email


def test_invites_refuse_a_non_ascii_local_part(owner: Any) -> None:
    made = owner.post(
        "/v1/members/invites/",
        json={"email": "Ünïcode@acme.test", "role_id": role_id(owner, "Developer")},
    )
    error(made, 400, "'ünïcode@acme.test' is not a valid email address.")


# Sanitising: Django's strip_tags (an HTML parser, not a regex) ------------------------------


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("a < b > c", "a < b > c"),
        ("<!-- a > b -->x", "x"),
        ("<img src='x>y'>z", "z"),
        ("<<b>>hi<</b>>", "<>hi<>"),
    ],
)
def test_names_and_descriptions_are_stripped_by_an_html_parser(
    owner: Any, sent: str, stored: str
) -> None:
    app = owner.post("/v1/apps/", json={"name": sent, "description": sent})
    assert app.status_code == 201
    assert (app.json()["name"], app.json()["description"]) == (stored, stored)
    team = owner.post("/v1/teams/", json={"name": "t", "description": sent})
    assert team.status_code == 201 and team.json()["description"] == stored


def test_suspicious_html_is_a_server_error(owner: Any) -> None:
    nested = "<" * 51 + "a>" * 51  # strip_tags gives up: SuspiciousOperation
    error(
        owner.post("/v1/apps/", json={"name": "x", "description": nested}),
        500,
        "Internal server error.",
    )


# Request bodies and content types (DRF's parsers) ------------------------------------------


def sa_body(owner: httpx.Client, name: str = "bot") -> str:
    return f'{{"name": "{name}", "role_id": "{role_id(owner, "Service")}"}}'


def test_json_with_a_utf8_bom_is_a_parse_error(owner: Any) -> None:
    body = b"\xef\xbb\xbf" + sa_body(owner).encode()
    error(
        owner.post("/v1/service-accounts/", content=body, headers=JSON),
        400,
        "JSON parse error - Unexpected UTF-8 BOM (decode using utf-8-sig): "
        "line 1 column 1 (char 0)",
    )


def test_utf16_json_is_a_parse_error(owner: Any) -> None:
    body = sa_body(owner).encode("utf-16")
    error(
        owner.post("/v1/service-accounts/", content=body, headers=JSON),
        400,
        "JSON parse error - 'utf-8' codec can't decode byte 0xff in position 0: invalid start byte",
    )


def test_json_api_media_type_is_unsupported(owner: Any) -> None:
    answer = owner.post(
        "/v1/service-accounts/",
        content=sa_body(owner).encode(),
        headers={"Content-Type": "application/vnd.api+json"},
    )
    error(answer, 415, 'Unsupported media type "application/vnd.api+json" in request.')


def test_json_in_the_declared_charset_is_read(owner: Any) -> None:
    answer = owner.post(
        "/v1/service-accounts/",
        content=sa_body(owner, "café").encode("latin-1"),
        headers={"Content-Type": "application/json; charset=latin-1"},
    )
    assert answer.status_code == 201 and answer.json()["name"] == "café"


def test_a_multipart_form_is_read(owner: Any) -> None:
    answer = owner.post(
        "/v1/service-accounts/",
        data={"name": "from-multipart", "role_id": role_id(owner, "Service")},
        files={"ignored": ("f.txt", b"file parts are not fields")},
    )
    assert answer.status_code == 201 and answer.json()["name"] == "from-multipart"


def test_json_without_a_content_type_is_unsupported(owner: Any) -> None:
    answer = owner.post("/v1/service-accounts/", content=sa_body(owner).encode())
    error(answer, 415, 'Unsupported media type "" in request.')


# Routing and errors ----------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["api", "xml"])
def test_a_format_other_than_json_is_not_found(phase: Any, owner: Any, fmt: str) -> None:
    error(owner.get("/v1/apps/", params={"format": fmt}), 404, "Not found.")
    # content negotiation comes before authentication
    error(httpx.get(f"{phase.url}/v1/apps/", params={"format": fmt}), 404, "Not found.")
    assert owner.get("/v1/apps/", params={"format": "json"}).status_code == 200


def test_a_non_string_environment_name_is_a_server_error(owner: Any) -> None:
    app = legacy_api(owner)
    made = owner.post("/v1/environments/", params={"app_id": app}, json={"name": 7})
    error(made, 500, "Internal server error.")
    env = owner.get("/v1/environments/", params={"app_id": app}).json()["data"][0]["id"]
    renamed = owner.put(f"/v1/environments/{env}/", params={"app_id": app}, json={"name": 7})
    error(renamed, 500, "Internal server error.")


def test_head_on_health_is_a_server_error(phase: Any) -> None:
    assert httpx.head(f"{phase.url}/health/").status_code == 500
    assert httpx.get(f"{phase.url}/health/").status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/v1/apps",  # no trailing slash
        "/v1/nothing-here/",
        "/v1/logs/audit/",  # commented out of urls.py
        "/V1/APPS/",
        "/v1//apps/",
        "//v1/apps/",
        "/v1/service-accounts/x/tokens",
    ],
)
def test_djangos_html_404_page_starts_with_a_newline(owner: Any, path: str) -> None:
    answer = owner.get(path)
    assert answer.status_code == 404
    assert answer.headers["content-type"] == "text/html; charset=utf-8"
    assert answer.text.startswith('\n<!doctype html>\n<html lang="en">')
    assert "Allow" not in answer.headers


def test_deleting_secrets_counts_them_and_names_the_missing(owner: Any) -> None:
    params = {"app_id": legacy_api(owner), "env": "Development"}
    made = owner.post(
        "/v1/secrets/", params=params, json={"secrets": [{"key": k, "value": "v"} for k in "ABC"]}
    ).json()
    ids = [s["id"] for s in made]
    gone = owner.request("DELETE", "/v1/secrets/", params=params, json={"secrets": ids[:1]})
    assert (gone.status_code, gone.json()) == (200, {"message": "Deleted 1 secret"})
    gone = owner.request("DELETE", "/v1/secrets/", params=params, json={"secrets": ids[1:]})
    assert gone.json() == {"message": "Deleted 2 secrets"}
    missing = owner.request(
        "DELETE", "/v1/secrets/", params=params, json={"secrets": [ids[0], "nope"]}
    )
    error(missing, 404, f"Secret(s) not found in this environment: {ids[0]}, nope")


# Headers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "allow"),
    [
        ("/v1/apps/", "GET, POST, HEAD, OPTIONS"),
        ("/v1/apps/x/", "GET, PUT, DELETE, HEAD, OPTIONS"),
        ("/v1/members/", "GET, HEAD, OPTIONS"),
        ("/v1/members/invites/", "GET, POST, HEAD, OPTIONS"),
        ("/v1/members/invites/x/", "DELETE, OPTIONS"),
        ("/v1/service-accounts/x/tokens/", "POST, OPTIONS"),
        ("/v1/secrets/", "GET, POST, PUT, DELETE, HEAD, OPTIONS"),
    ],
)
def test_every_drf_answer_carries_allow(phase: Any, owner: Any, path: str, allow: str) -> None:
    for answer in (owner.get(path), owner.patch(path), httpx.get(f"{phase.url}{path}")):
        assert answer.headers["allow"] == allow


@pytest.mark.parametrize(
    "authorization", [None, "Bearer User nope", "Bearer ServiceAccount nope", "Token x"]
)
def test_every_401_carries_www_authenticate(phase: Any, authorization: str | None) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    answer = httpx.get(f"{phase.url}/v1/apps/", headers=headers)
    assert answer.status_code == 401 and answer.headers["www-authenticate"] == "Bearer"


def test_other_answers_carry_no_www_authenticate(owner: Any) -> None:
    assert "www-authenticate" not in owner.get("/v1/apps/").headers
    assert "www-authenticate" not in owner.patch("/v1/apps/").headers


# Timestamps and order --------------------------------------------------------------------


def test_a_new_service_accounts_timestamps_differ_by_microseconds(owner: Any) -> None:
    made = owner.post("/v1/service-accounts/", content=sa_body(owner).encode(), headers=JSON)
    created, updated = (
        datetime.datetime.fromisoformat(made.json()[k].replace("Z", "+00:00"))
        for k in ("createdAt", "updatedAt")
    )
    assert datetime.timedelta(0) < updated - created < datetime.timedelta(milliseconds=1)


def sa_with_five_environments(phase: Any, owner: httpx.Client) -> str:
    app = owner.post("/v1/apps/", json={"name": "many"}).json()
    for name in ("QA", "Perf"):
        owner.post("/v1/environments/", params={"app_id": app["id"]}, json={"name": name})
    envs = [
        e["id"] for e in owner.get("/v1/environments/", params={"app_id": app["id"]}).json()["data"]
    ]
    made = owner.post("/v1/service-accounts/", content=sa_body(owner).encode(), headers=JSON)
    sa = made.json()["id"]
    grant = {"apps": [{"id": app["id"], "environments": envs}]}
    assert owner.put(f"/v1/service-accounts/{sa}/access/", json=grant).status_code == 200
    return str(sa)


def env_orders(owner: httpx.Client, sa: str, times: int) -> set[tuple[str, ...]]:
    return {
        tuple(
            e["name"]
            for e in owner.get(f"/v1/service-accounts/{sa}/").json()["apps"][0]["environments"]
        )
        for _ in range(times)
    }


def test_unordered_lists_come_back_in_varying_order(phase: Any, owner: Any) -> None:
    assert phase.control("GET", "order/")["shuffle"] is True  # on by default
    sa = sa_with_five_environments(phase, owner)
    orders = env_orders(owner, sa, 20)
    assert len(orders) > 1  # 5! orders: twenty answers all alike would be a 1 in 10^40 chance
    assert {tuple(sorted(o)) for o in orders} == {
        ("Development", "Perf", "Production", "QA", "Staging")
    }


def test_the_order_can_be_fixed_for_debugging(phase: Any, owner: Any) -> None:
    sa = sa_with_five_environments(phase, owner)
    assert phase.control("POST", "order/", {"shuffle": False})["shuffle"] is False
    assert len(env_orders(owner, sa, 5)) == 1
    phase.control("POST", "reset/")
    assert phase.control("GET", "order/")["shuffle"] is True  # reset restores the default


def test_a_seed_reproduces_the_orders(phase: Any, owner: Any) -> None:
    sa = sa_with_five_environments(phase, owner)
    runs = []
    for _ in range(2):
        assert phase.control("POST", "order/", {"seed": 12345})["seed"] == 12345
        runs.append(
            [
                owner.get(f"/v1/service-accounts/{sa}/").json()["apps"][0]["environments"]
                for _ in range(4)
            ]
        )
    assert runs[0] == runs[1]
