"""A small client of the Flagsmith sandbox for its route tests: the API with the admin key
(``call``), another key (``as_key``), and the control API (``ctl``)."""

from __future__ import annotations

from typing import Any

import httpx

from reconciler.sandbox.flagsmith.server import FlagsmithSandbox


class Api:
    def __init__(self, sandbox: FlagsmithSandbox) -> None:
        self.sandbox = sandbox
        self.http = httpx.Client(timeout=15)
        self.creds: dict[str, str] = {}

    def reset(self) -> None:
        self.creds = self.ctl("POST", "reset/")

    @property
    def url(self) -> str:
        return self.creds["FLAGSMITH_URL"]

    def call(self, method: str, path: str, **kw: Any) -> httpx.Response:
        return self.as_key(self.creds["FLAGSMITH_API_KEY"], method, path, **kw)

    def as_key(self, key: str | None, method: str, path: str, **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Api-Key {key}"} if key is not None else {}
        return self.http.request(method, self.url + path, headers=headers, **kw)

    def ctl(self, method: str, path: str, body: Any = None) -> Any:
        response = self.http.request(method, f"{self.sandbox.root}/_sandbox/{path}", json=body)
        response.raise_for_status()
        return response.json()

    def project(self, name: str = "web") -> dict[str, Any]:
        answer = self.call("POST", "/projects/", json={"name": name, "organisation": 1})
        assert answer.status_code == 201, answer.text
        body: dict[str, Any] = answer.json()
        return body

    def environment(self, project: int, name: str) -> dict[str, Any]:
        answer = self.call("POST", "/environments/", json={"name": name, "project": project})
        assert answer.status_code == 201, answer.text
        body: dict[str, Any] = answer.json()
        return body

    def stored(self, table: str) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = list(self.ctl("GET", "state/")[table].values())
        return rows
