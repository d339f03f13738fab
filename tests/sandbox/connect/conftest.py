"""A Connect sandbox on a loopback port for the module, reset before each test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from helpers.sandboxes import fresh, serve

from reconciler.sandbox.connect.server import HQ_URL, ConnectSandbox

V2 = {"Accept": "application/json; version=2.0"}


class Api:
    """Plain HTTP to the sandbox with the program manager's token (``partner()`` for the
    delivering organisation's admin)."""

    def __init__(self, sandbox: ConnectSandbox) -> None:
        self.sandbox = sandbox
        self.http = httpx.Client(base_url=sandbox.url, timeout=10)
        self.creds: dict[str, str] = {}

    def reset(self) -> None:
        self.creds = self.http.post("/_sandbox/reset/").json()

    def auth(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.creds['CONNECT_TOKEN']}"}

    def post(self, path: str, body: Any = None, token: str | None = None) -> httpx.Response:
        return self.http.post(path, json=body if body is not None else {}, headers=self.auth(token))

    def get(self, path: str, token: str | None = None, **params: Any) -> httpx.Response:
        return self.http.get(path, params=params, headers={**self.auth(token), **V2})

    def control(self, path: str, body: Any = None) -> Any:
        answer = self.http.post(f"/_sandbox/{path}/", json=body or {})
        assert answer.status_code == 200, answer.text
        return answer.json()

    # -- building blocks ---------------------------------------------------------------------

    def program(self, **over: Any) -> dict[str, Any]:
        body = {
            "name": "Malaria 2027",
            "description": "Malaria prevention visits",
            "organization": "acme-pm",
            "delivery_type": "malaria",
            "budget": 100000,
            "currency": "USD",
            "country": "Kenya",
            "start_date": "2027-01-01",
            "end_date": "2027-12-31",
        } | over
        answer = self.post("/api/programs/", body)
        assert answer.status_code == 201, answer.text
        return dict(answer.json())

    def accepted_partner(self, program: str, org: str = "kisumu-health") -> None:
        made = self.post(f"/api/programs/{program}/applications/", {"organization": org})
        assert made.status_code == 201, made.text
        app = made.json()["program_application_id"]
        done = self.post(f"/api/programs/{program}/applications/{app}/accept/")
        assert done.status_code == 200, done.text

    def app(self, app_id: str, **over: Any) -> dict[str, Any]:
        return {
            "hq_server_url": HQ_URL,
            "api_key": self.creds["CONNECT_HQ_API_KEY"],
            "cc_domain": "acme",
            "cc_app_id": app_id,
        } | over

    def opportunity_body(self, **over: Any) -> dict[str, Any]:
        return {
            "name": "Kisumu pilot",
            "description": "Household visits in Kisumu",
            "short_description": "Household visits",
            "organization": "kisumu-health",
            "start_date": "2027-02-01",
            "end_date": "2027-06-30",
            "total_budget": 40000,
            "is_test": False,
            "learn_app": self.app("abc123", description="Learn first", passing_score=80),
            "deliver_app": self.app("def456"),
        } | over

    def opportunity(self, program: str, **over: Any) -> dict[str, Any]:
        answer = self.post(f"/api/programs/{program}/opportunities/", self.opportunity_body(**over))
        assert answer.status_code == 201, answer.text
        return dict(answer.json())


@pytest.fixture(scope="module")
def sandbox() -> Iterator[ConnectSandbox]:
    yield from serve(lambda: ConnectSandbox(port=0))


@pytest.fixture
def api(sandbox: ConnectSandbox) -> Iterator[Api]:
    yield from fresh(Api(sandbox))
