"""FlagsmithClient: the Flagsmith API over the kit's ``HttpClient``.

Every request carries ``Authorization: Api-Key <key>`` (the key is given to the client for
redaction and only ever sent as that header). Paginated lists (DRF page-number envelopes of 10,
no ``page_size`` parameter on the server) are read completely: the first page says how many
pages there are, and the rest are fetched together on the pool. The pacing budget is kept in
the state store under the server and a keyed HMAC of the key, so consecutive runs share it.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from typing import Any, TypeVar

from pydantic import BaseModel

from reconciler.providers.flagsmith.payloads import Page
from reconciler.providers.kit.answers import decode_as
from reconciler.providers.kit.http import HttpClient, route_of
from reconciler.providers.kit.pacing import SharedBudget
from reconciler.providers.kit.pool import pool_map
from reconciler.secrets.value import Secret
from reconciler.state.store import StateStore

SYSTEM = "Flagsmith"
M = TypeVar("M", bound=BaseModel)


class FlagsmithClient:
    """See the module docstring. ``url`` is the API root (``…/api/v1``)."""

    def __init__(
        self, url: str, api_key: Secret, *, rate_limit: int, store: StateStore | None
    ) -> None:
        self.url = url.rstrip("/")
        key = api_key.reveal()
        budget = None
        if store is not None:
            who = hmac.new(store.fingerprint_key, key.encode(), hashlib.sha256).hexdigest()[:16]
            budget = SharedBudget.open(store, "flagsmith", f"{self.url}#{who}", rate_limit)
        self.http = HttpClient(
            self.url,
            system=SYSTEM,
            headers={"Authorization": f"Api-Key {key}"},
            secrets=[key],
            rate_limit=rate_limit,
            budget=budget,
        )

    def request(self, method: str, path: str, **kw: Any) -> Any:
        return self.http.request(method, path, route=route(method, path), **kw)

    def listed(self, item: type[M], path: str, *, params: dict[str, str] | None = None) -> list[M]:
        """A plain-array list (``pagination_class = None``)."""
        data = self.request("GET", path, params=params)
        return list(decode_as(list[item], data, address=None, system=SYSTEM))  # type: ignore[valid-type]

    def pages(self, item: type[M], path: str, *, params: dict[str, str] | None = None) -> list[M]:
        """Every item of a page-number list: page 1, then the other pages pooled."""
        first = self._page(item, path, dict(params or {}), 1)
        pages = max(1, math.ceil(first.count / max(1, len(first.results) or 1)))
        if not first.next:
            return list(first.results)
        rest = pool_map(
            lambda n: self._page(item, path, dict(params or {}), n), range(2, pages + 1)
        )
        out = list(first.results)
        for page in rest:
            out.extend(page.results)
        return out

    def _page(self, item: type[M], path: str, params: dict[str, str], number: int) -> Page[M]:
        if number > 1:
            params["page"] = str(number)
        data = self.request("GET", path, params=params or None)
        page: Page[M] = decode_as(Page[item], data, address=None, system=SYSTEM)  # type: ignore[valid-type]
        return page

    def stats(self) -> dict[str, Any]:
        return self.http.stats()

    def close(self) -> None:
        self.http.close()


def route(method: str, path: str) -> str:
    """The route template ``stats`` counts a request under: ids, and environment API keys
    (``/environments/<api_key>/...``), templated."""
    parts = path.split("/")
    if len(parts) > 3 and parts[1] == "environments" and parts[2]:
        parts[2] = "{api_key}"
    return route_of(method, "/".join(parts))
