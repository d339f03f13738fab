"""PhaseClient over a mock transport: authorization, paths, pacing, 429, retries, errors."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from reconciler.crypto.tokens import parse_token
from reconciler.errors import ProviderError, TransportError
from reconciler.providers.kit.create import ambiguous
from reconciler.providers.phase import payloads as p
from reconciler.providers.phase.client import PhaseClient, TokenBucket
from reconciler.providers.phase.console import Console
from reconciler.secrets.value import Secret

BEARER = "ab" * 32
USER = f"pss_user:v1:{BEARER}:" + ":".join(["cd" * 32] * 3)
SERVICE = f"pss_service:v2:{BEARER}:" + ":".join(["cd" * 32] * 3)

Handler = Callable[[httpx.Request], httpx.Response]


def client(
    handler: Handler, token: str = USER, url: str = "https://phase.test/service/public/"
) -> tuple[PhaseClient, list[float]]:
    slept: list[float] = []
    made = PhaseClient(
        url, parse_token(token), transport=httpx.MockTransport(handler), sleep=slept.append
    )
    return made, slept


def test_authorization_from_the_token_prefix_and_only_its_bearer_field() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"data": []})

    for token, kind in ((USER, "User"), (SERVICE, "ServiceAccount")):
        c, _ = client(handler, token)
        assert c.request("GET", "/v1/apps/") == {"data": []}
        assert seen[-1].headers["Authorization"] == f"Bearer {kind} {BEARER}"
    assert str(seen[-1].url) == "https://phase.test/service/public/v1/apps/"


def test_paths_keep_their_trailing_slash_and_root_paths_drop_public() -> None:
    urls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        urls.append(str(request.url))
        return httpx.Response(200, json={})

    c, _ = client(handler)
    c.request("GET", "/secrets/tokens/", root=True)
    assert urls == ["https://phase.test/service/secrets/tokens/"]
    with pytest.raises(AssertionError):
        c.request("GET", "/v1/apps")


def test_snake_case_body_and_json_answer() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["Content-Type"] == "application/json"
        assert request.read() == b'{"name":"x","role_id":"r"}'
        return httpx.Response(201, json={"id": "1"})

    c, _ = client(handler)
    assert c.request("POST", "/v1/service-accounts/", body={"name": "x", "role_id": "r"}) == {
        "id": "1"
    }


def test_429_waits_retry_after_then_succeeds() -> None:
    answers = [
        httpx.Response(429, headers={"Retry-After": "3"}, json={"error": "throttled"}),
        httpx.Response(429, headers={"Retry-After": "1"}, json={"error": "throttled"}),
        httpx.Response(200, json={"ok": True}),
    ]
    c, slept = client(lambda _r: answers.pop(0))
    assert c.request("POST", "/v1/apps/", body={}) == {"ok": True}  # safe: not executed
    assert slept == [3.0, 1.0]
    assert c.counts == {"requests": 3, "retries": 0, "throttled": 2}


def test_5xx_is_retried_with_backoff_for_get_put_delete_but_not_post() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        if len(calls) % 3:
            return httpx.Response(503, json={"error": "busy"})
        return httpx.Response(200, json={})

    c, slept = client(handler)
    assert c.request("PUT", "/v1/apps/1/", body={"name": "x"}) == {}
    assert calls == ["PUT"] * 3 and len(slept) == 2 and all(0 < s < 1 for s in slept)
    calls.clear()
    with pytest.raises(ProviderError) as info:
        c.request("POST", "/v1/apps/", body={"name": "x"}, address="phase.app.x")
    assert calls == ["POST"]
    assert info.value.status == 503
    assert str(info.value) == "phase.app.x: POST /v1/apps/: HTTP 503: busy"


def test_dropped_connections_retry_except_an_executed_post() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        if len(calls) < 3:
            raise httpx.RemoteProtocolError("server disconnected", request=request)
        return httpx.Response(200, json={"data": []})

    c, _ = client(handler)
    assert c.request("GET", "/v1/apps/") == {"data": []}
    calls.clear()

    def drop(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        raise httpx.ReadError("connection reset", request=request)

    c, _ = client(drop)
    with pytest.raises(TransportError) as info:
        c.request("POST", "/v1/apps/", body={}, address="phase.app.x")
    assert calls == ["POST"] and info.value.status is None
    assert "no answer from the target" in str(info.value)


def test_a_connection_never_opened_is_retried_even_for_post() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        if len(calls) == 1:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(201, json={"id": "1"})

    c, _ = client(handler)
    assert c.request("POST", "/v1/apps/", body={}) == {"id": "1"}
    assert calls == ["POST", "POST"]


def test_errors_carry_the_server_text_never_the_token() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"error": "Token expired or deleted"})

    c, _ = client(handler)
    with pytest.raises(ProviderError) as info:
        c.request("GET", "/v1/apps/", address="phase")
    text = str(info.value)
    assert text == "phase: GET /v1/apps/: HTTP 401: Token expired or deleted"
    assert BEARER not in text and "cdcd" not in text


def test_404_on_delete_is_already_gone_and_odd_answers_are_errors() -> None:
    answers = [
        httpx.Response(404, json={"error": "Not found"}),
        httpx.Response(302, headers={"Location": "/login/"}),
        httpx.Response(200, text="<html>"),
    ]
    c, _ = client(lambda _r: answers.pop(0))
    assert c.request("DELETE", "/v1/apps/1/", ok_missing=True) is None
    with pytest.raises(ProviderError, match="HTTP 302"):
        c.request("GET", "/graphql/")
    with pytest.raises(ProviderError, match="not JSON"):
        c.request("GET", "/v1/apps/")


def test_the_bucket_never_lets_a_minute_hold_more_than_the_rate() -> None:
    now = [0.0]
    bucket = TokenBucket(4, clock=lambda: now[0])
    assert [bucket.delay() for _ in range(4)] == [0, 0, 0, 0]  # a short run is not slowed
    assert bucket.delay() == 60.0  # the fifth waits for the first token to come back
    now[0] = 30.0
    assert bucket.delay() == 30.0  # slot 60 is taken: the next is at 60 too (token 2)
    now[0] = 200.0
    assert bucket.delay() == 0.0


def test_a_malformed_answer_names_the_address_and_the_field_never_a_key_error() -> None:
    c, _ = client(lambda _r: httpx.Response(201, json={"name": "x", "token": "s3cr3t-value"}))
    with pytest.raises(ProviderError) as info:
        c.decoded(p.Made, "POST", "/v1/apps/", body={"name": "x"}, address="phase.app.x")
    assert str(info.value) == "phase.app.x: unexpected answer from Phase (field 'id' missing)"
    assert not ambiguous(info.value)  # the server answered: no lookup-and-adopt behind it


def test_console_answers_are_typed_and_resolver_errors_named() -> None:
    answers = [
        httpx.Response(200, json={"data": {"createEnvironment": {"environment": {}}}}),
        httpx.Response(200, json={"errors": [{"message": "App not found"}], "data": None}),
        httpx.Response(200, json={"errors": None}),
    ]
    c, _ = client(lambda _r: answers.pop(0))
    console = Console(c, "owner@acme.test", Secret("pw"))
    console.logged_in = True  # the login is the sandbox tests' business
    with pytest.raises(ProviderError) as info:
        console.create_environment({"name": "Qa"}, [], "phase.environment.vault/Qa")
    assert str(info.value) == (
        "phase.environment.vault/Qa: unexpected answer from Phase "
        "(field 'createEnvironment.environment.id' missing)"
    )
    with pytest.raises(ProviderError, match=r"^phase.app.vault: console API: InitAppSyncing: App"):
        console.init_env_sync("a1", [], "phase.app.vault")
    with pytest.raises(ProviderError, match=r"field 'data' missing"):
        console.rename_environment("e1", "Qa", "phase.environment.vault/Qa")
