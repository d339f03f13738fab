"""MessagesClient: the Messages API over the kit's ``HttpClient``.

Two credentials (docs/messages-api.md#credentials): provisioning calls send ``X-Channel-Id`` +
``X-API-Key``; admin calls send
``Authorization: Bearer <admin_token>``. Both secrets are given to the client for redaction and
only ever sent as headers. Lists are read completely, following ``next`` (``page_size`` 1,000
where the server honours it).
"""

from __future__ import annotations

from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

from pydantic import BaseModel

from reconciler.errors import ProviderError
from reconciler.providers.kit.answers import decode_as
from reconciler.providers.kit.http import HttpClient
from reconciler.providers.kit.pacing import SharedBudget
from reconciler.providers.messages.payloads import Page
from reconciler.secrets.value import Secret
from reconciler.state.store import StateStore

SYSTEM = "Messages"
M = TypeVar("M", bound=BaseModel)


class MessagesClient:
    """See the module docstring. ``url`` is the API root (``…/api/v1.0/``)."""

    def __init__(
        self,
        url: str,
        channel_id: str,
        api_key: Secret,
        admin_token: Secret | None,
        *,
        rate_limit: int = 240,
        store: StateStore | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self._key = {"X-Channel-Id": channel_id, "X-API-Key": api_key.reveal()}
        self._admin = (
            {"Authorization": f"Bearer {admin_token.reveal()}"} if admin_token is not None else None
        )
        secrets = [api_key.reveal()] + ([admin_token.reveal()] if admin_token else [])
        budget = None
        if store is not None:
            scope = f"{urlsplit(self.url).netloc}#{channel_id}"
            budget = SharedBudget.open(store, "messages", scope, rate_limit)
        self.http = HttpClient(
            self.url, system=SYSTEM, secrets=secrets, rate_limit=rate_limit, budget=budget
        )

    @property
    def has_admin(self) -> bool:
        return self._admin is not None

    def key(self, method: str, path: str, **kw: Any) -> Any:
        """A provisioning call (API key headers)."""
        return self.http.request(method, path, headers=self._key, **kw)

    def admin(self, method: str, path: str, **kw: Any) -> Any:
        """An admin API call (bearer token)."""
        if self._admin is None:
            raise ProviderError(kw.get("address"), "the admin API needs connection.admin_token")
        return self.http.request(method, path, headers=self._admin, **kw)

    def pages(self, item: type[M], path: str, *, admin: bool, address: object = None) -> list[M]:
        """Every item of a paginated list, following ``next`` links."""
        out: list[M] = []
        params: dict[str, str] | None = {"page_size": "1000"}
        base: str | None = None
        while True:
            call = self.admin if admin else self.key
            data = call("GET", path, params=params, address=address, base=base)
            page = decode_as(Page[item], data, address=address, system=SYSTEM)  # type: ignore[valid-type]
            out.extend(page.results)
            if not page.next:
                return out
            path, params, base = _split(page.next, self.url, address)

    def config(self) -> dict[str, Any]:
        """``GET /config/`` (anonymous): the public settings, feature flags among them."""
        data = self.http.request("GET", "/config/")
        flags = decode_as(dict[str, Any], data, address=None, system=SYSTEM)
        return dict(flags)

    def stats(self) -> dict[str, Any]:
        return self.http.stats()

    def close(self) -> None:
        self.http.close()


def _split(link: str, own: str, address: object) -> tuple[str, dict[str, str], str]:
    """A ``next`` link as (path, query, base) for ``HttpClient.request``; a link to another
    origin is refused (the credentials would follow it)."""
    parts, mine = urlsplit(link), urlsplit(own)
    if (parts.scheme, parts.netloc) != (mine.scheme, mine.netloc):
        raise ProviderError(address, f"{SYSTEM}: a page link leaves {mine.netloc}; refused")
    return parts.path, dict(parse_qsl(parts.query)), f"{parts.scheme}://{parts.netloc}"
