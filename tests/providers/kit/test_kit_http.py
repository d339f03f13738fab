"""The kit's HTTP client against a real loopback server: pacing, Retry-After, retries,
route counting, typed answers, redaction, and the pacing budget shared between runs."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import BaseModel
from scripted_server import DROP, ScriptedServer

from reconciler.errors import ProviderError, TransportError
from reconciler.providers.kit.http import HttpClient, route_of
from reconciler.providers.kit.pacing import SharedBudget, TokenBucket
from reconciler.state.sqlite import SQLiteStateStore

SECRET = "tok-7f3e-very-secret"


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with ScriptedServer() as s:
        yield s


def client(server: ScriptedServer, sleeps: list[float], **kw: object) -> HttpClient:
    return HttpClient(
        server.url,
        system="Testsys",
        headers={"Authorization": f"Bearer {SECRET}"},
        sleep=sleeps.append,
        **kw,  # type: ignore[arg-type]
    )


def test_429_waits_retry_after_then_succeeds(server: ScriptedServer) -> None:
    server.script.extend([(429, {"Retry-After": "7"}, {"error": "slow down"}), (200, {}, [1])])
    sleeps: list[float] = []
    c = client(server, sleeps)
    assert c.request("POST", "/v1/things/", body={"name": "a"}) == [1]
    assert 7.0 in sleeps
    assert c.counts == {"requests": 2, "retries": 0, "throttled": 1}


def test_503_with_retry_after_is_a_throttle_even_for_post(server: ScriptedServer) -> None:
    server.script.extend([(503, {"Retry-After": "2"}, {}), (201, {}, {"id": 4})])
    sleeps: list[float] = []
    assert client(server, sleeps).request("POST", "/x/") == {"id": 4}
    assert 2.0 in sleeps


def test_5xx_retried_for_get_not_for_post(server: ScriptedServer) -> None:
    sleeps: list[float] = []
    c = client(server, sleeps)
    server.script.extend([(502, {}, {}), (500, {}, {}), (200, {}, {"v": 1})])
    assert c.get("/a/") == {"v": 1}
    assert c.counts["retries"] == 2
    server.script.append((500, {}, {"error": "boom"}))
    with pytest.raises(ProviderError) as err:
        c.request("POST", "/a/", address="test.thing.a")
    assert err.value.status == 500 and "boom" in str(err.value)
    assert len([s for s in server.seen if s[0] == "POST"]) == 1


def test_lost_answer_retried_for_put_raised_for_post(server: ScriptedServer) -> None:
    sleeps: list[float] = []
    c = client(server, sleeps)
    server.script.extend([DROP, (200, {}, {"ok": 1})])
    assert c.request("PUT", "/a/1/", body={}) == {"ok": 1}
    server.script.append(DROP)
    with pytest.raises(TransportError) as err:
        c.request("POST", "/a/", body={}, address="test.thing.a")
    assert "no answer from Testsys" in str(err.value)


def test_typed_answer_names_the_missing_field(server: ScriptedServer) -> None:
    class Made(BaseModel):
        id: str
        name: str

    server.script.append((201, {}, {"name": "x"}))
    with pytest.raises(ProviderError) as err:
        client(server, []).decoded(Made, "POST", "/a/", address="test.thing.x")
    assert str(err.value) == "test.thing.x: unexpected answer from Testsys (field 'id' missing)"


def test_non_json_answer_is_an_error_not_a_traceback(server: ScriptedServer) -> None:
    server.script.append((200, {}, b"<html>hi</html>"))
    with pytest.raises(ProviderError, match="not JSON"):
        client(server, []).get("/a/", address="test.thing.a")


def test_secrets_redacted_from_errors_and_never_logged(
    server: ScriptedServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    server.script.append((400, {}, {"detail": f"bad token {SECRET}"}))
    with pytest.raises(ProviderError) as err:
        client(server, []).request("POST", "/a/", body={"token": SECRET})
    assert SECRET not in str(err.value) and "(sensitive)" in str(err.value)
    assert SECRET not in caplog.text and "POST /a/ -> 400" in caplog.text
    assert server.seen[0][3]["Authorization"] == f"Bearer {SECRET}"


def test_routes_counted_by_template(server: ScriptedServer) -> None:
    c = client(server, [])
    for i in (1, 2):
        c.get(f"/v1/apps/{i}/")
    c.get("/v1/members/a@b.c/")
    assert c.stats()["routes"] == {"GET /v1/apps/{id}/": 2, "GET /v1/members/{id}/": 1}
    assert route_of("GET", "/v1/apps/3f0c2f5e-1b2a-4c3d-8e9f-0a1b2c3d4e5f/") == "GET /v1/apps/{id}/"


def test_redirects_are_not_followed(server: ScriptedServer) -> None:
    server.script.append((302, {"Location": "http://example.invalid/steal"}, {}))
    with pytest.raises(ProviderError) as err:
        client(server, []).get("/a/")
    assert err.value.status == 302 and len(server.seen) == 1


def test_bucket_paces_a_full_minute() -> None:
    now = [1000.0]
    bucket = TokenBucket(3, clock=lambda: now[0])
    assert [bucket.delay() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.delay() == 60.0


def test_budget_outlives_the_process(server: ScriptedServer, tmp_path: Path) -> None:
    """A second run against the same target starts with the first run's slots: with a limit of
    3 per minute and 3 requests already sent, its first request waits instead of meeting 429."""
    store = SQLiteStateStore(tmp_path / "state.db", fingerprint_key=b"k" * 32)
    first = client(server, [], budget=SharedBudget.open(store, "testsys", server.url, 3))
    for _ in range(3):
        first.get("/a/")
    first.close()
    sleeps: list[float] = []
    second = client(server, sleeps, budget=SharedBudget.open(store, "testsys", server.url, 3))
    second.get("/a/")
    assert sleeps and 55.0 < sleeps[0] <= 60.0
    second.close()
    store.close()


def test_restored_slots_keep_requests_sent_within_one_millisecond(tmp_path: Path) -> None:
    """Slots are saved to the millisecond, so several requests share one instant: each is a
    request the server counted, none is merged away."""
    now = [1000.0]
    first = TokenBucket(4, clock=lambda: now[0])
    for _ in range(3):
        first.delay()
    second = TokenBucket(4, clock=lambda: now[0])
    second.restore(first.slots())
    assert second.delay() == 0.0  # the fourth of the minute
    assert second.delay() == 60.0  # the fifth waits


def test_a_token_counts_from_when_the_answer_came_back() -> None:
    """The server stamps a request when it arrives: a request sent one window after the first
    one's answer cannot land in the first one's window."""
    now = [1000.0]
    bucket = TokenBucket(1, clock=lambda: now[0])
    slot = bucket.take()
    now[0] = 1002.5  # a slow first answer
    bucket.settle(slot)
    assert bucket.take() == 1062.5  # one window after the answer, not after the send
