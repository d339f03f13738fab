"""HTTP helpers for the Messages sandbox tests (one client bound to one sandbox)."""

from __future__ import annotations

from typing import Any

import httpx

from reconciler.sandbox.messages.server import MessagesSandbox


class Api:
    """HTTP helpers bound to one sandbox: ``prov`` (api key), ``admin`` (bearer), ``ctl``."""

    def __init__(self, sandbox: MessagesSandbox) -> None:
        self.sandbox = sandbox
        self.http = httpx.Client(timeout=10)
        self.creds: dict[str, str] = {}

    @property
    def url(self) -> str:
        return self.creds["MESSAGES_URL"]

    def reset(self) -> None:
        self.creds = self.http.post(f"{self.sandbox.root}/_sandbox/reset/").json()

    def key_headers(self) -> dict[str, str]:
        return {
            "X-Channel-Id": self.creds["MESSAGES_CHANNEL_ID"],
            "X-API-Key": self.creds["MESSAGES_API_KEY"],
        }

    def prov(self, method: str, path: str, **kw: Any) -> httpx.Response:
        headers = kw.pop("headers", self.key_headers())
        return self.http.request(method, self.url + path, headers=headers, **kw)

    def admin(self, method: str, path: str, **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.creds['MESSAGES_ADMIN_TOKEN']}"}
        return self.http.request(method, self.url + path, headers=headers, **kw)

    def ctl(self, method: str, path: str, **kw: Any) -> httpx.Response:
        return self.http.request(method, f"{self.sandbox.root}/_sandbox/{path}", **kw)

    def changes(self, *ops: dict[str, Any]) -> None:
        self.ctl("POST", "changes/", json={"changes": list(ops)}).raise_for_status()

    def provision(self, domains: list[str], **fields: Any) -> dict[str, Any]:
        answer = self.prov("POST", "provisioning/maildomains/", json={"domains": domains, **fields})
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    def domain_id(self, name: str) -> str:
        rows = self.ctl("GET", "domains/").json()
        return str(next(d["id"] for d in rows if d["name"] == name))

    def stored(self, name: str) -> dict[str, Any]:
        rows = self.ctl("GET", "domains/").json()
        found: dict[str, Any] = next(d for d in rows if d["name"] == name)
        return found
