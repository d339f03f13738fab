"""ConnectClient: the kit's HttpClient with Connect's authentication, export versioning and
keyset paging (docs/connect-api.md#reading-live-state).

Every request carries ``Authorization: Bearer <token>``. A 401 means the token is unknown or
expired (access tokens live two weeks by default): it becomes one clear error naming the
connection, never a per-object failure.
"""

from __future__ import annotations

from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

import httpx
from pydantic import BaseModel

from reconciler.errors import ProviderError
from reconciler.providers.kit.answers import decode
from reconciler.providers.kit.http import HttpClient
from reconciler.providers.kit.pacing import SharedBudget
from reconciler.state.store import StateStore

from .spec import ConnectSection

M = TypeVar("M", bound=BaseModel)
V2 = {"Accept": "application/json; version=2.0"}
PAGE = 1000
SYSTEM = "CommCare Connect"


def connect_error_text(response: httpx.Response) -> str:
    """DRF error bodies, nested serializer errors included (``{"learn_app": {"api_key":
    ["..."]}}`` -> ``learn_app.api_key: ...``)."""
    try:
        body = response.json()
    except ValueError:
        return "(no JSON body)"
    found: list[str] = []

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, str):
            found.append(f"{prefix}: {value}" if prefix else value)
        elif isinstance(value, list):
            for item in value:
                walk(prefix, item)
        elif isinstance(value, dict):
            for key, item in value.items():
                name = "" if key in ("detail", "non_field_errors", "error") else key
                walk(f"{prefix}.{name}".strip(".") if name else prefix, item)

    walk("", body)
    text = "; ".join(found[:3]) or "(unexpected error body)"
    if "hq_server_url" in text:
        text += " (hq_server_url must equal the server's stored HQ URL exactly)"
    return text


class TokenRefused(ProviderError):
    """The server does not accept the connection's token (unknown or expired)."""


class Organization:
    """The program-manager organisation: the spec's, else the token user's only one."""

    def __init__(self, declared: str | None, client: ConnectClient) -> None:
        self.declared, self.client = declared, client
        self._slug: str | None = declared

    def slug(self) -> str:
        if self._slug is None:
            from .payloads import Listing

            listing = self.client.decoded(Listing, "GET", "/export/opp_org_program_list/")
            slugs = sorted(o.slug for o in listing.organizations)
            if len(slugs) != 1:
                raise ProviderError(
                    "connect.organization",
                    f"the token's user belongs to {len(slugs)} organisations "
                    f"({', '.join(slugs) or 'none'}): set organization: to the program manager",
                )
            self._slug = slugs[0]
        return self._slug


class ConnectClient:
    """HTTP access to one Connect server as one user."""

    def __init__(self, section: ConnectSection, store: StateStore) -> None:
        conn = section.connection
        self.base = conn.url.rstrip("/")
        self.http = HttpClient(
            self.base,
            system=SYSTEM,
            headers={"Authorization": f"Bearer {conn.token.reveal()}"},
            budget=SharedBudget.open(store, "connect", self.base, conn.rate_limit),
            error_text=connect_error_text,
        )

    def call(self, method: str, path: str, **kw: Any) -> Any:
        try:
            return self.http.request(method, path, **kw)
        except ProviderError as exc:
            if exc.status == 401:
                raise TokenRefused(
                    "connect.connection",
                    f"the token for {self.base} was refused (HTTP 401): it is unknown or has "
                    "expired (Connect access tokens last two weeks by default); mint a new one",
                    401,
                ) from None
            raise

    def decoded(self, model: type[M], method: str, path: str, **kw: Any) -> M:
        data = self.call(method, path, **kw)
        return decode(model, data, address=kw.get("address"), system=SYSTEM)

    def pages(self, model: type[M], path: str, **kw: Any) -> list[M]:
        """Every page of a keyset-paginated v2 export list (``next`` carries ``last_id``)."""
        out: list[M] = []
        params = {"page_size": str(PAGE)}
        while True:
            page = self.decoded(model, "GET", path, params=params, headers=V2, **kw)
            out.append(page)
            following = getattr(page, "next", None)
            if not following:
                return out
            params = dict(parse_qsl(urlsplit(following).query))
