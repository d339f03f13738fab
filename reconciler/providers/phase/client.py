"""PhaseClient: the kit's ``HttpClient`` spoken the way a Phase server expects.

What is Phase's own (the rest, pacing, ``Retry-After``, retries, counting by route, redaction
and typed answers, is ``kit.http.HttpClient``'s contract):

* Authorization ``Bearer User|ServiceAccount <token>`` from the ``pss_*`` token (its bearer
  field only: the server refuses the whole string). No part of the token appears in an error or
  a log line (the kit redacts header values).
* Paths always end with ``/`` (the server has no redirect; a missing slash is a bug here, so an
  assertion). Bodies are snake_case JSON; errors are ``{"error": "…"}``
  (docs/phase-api.md#wire-conventions), which the kit's ``error_text`` reads first.
* ``root`` paths (``/secrets/tokens/``, the console's ``/graphql/`` and login) are served beside
  the public API: a ``/public`` suffix of the base URL is dropped for them.
* A request that never got an answer is ``TransportError`` "... (no answer from the target)".
* Pacing: the server keeps one sliding-minute budget per principal
  (docs/phase-api.md#throttling). ``pacing_budget`` keeps the client's token bucket in the
  state store under a scope made of the server URL and a keyed, non-reversible identity of the
  token, so ``apply`` followed by ``plan`` within the same minute shares one budget.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from typing import Any

import httpx

from reconciler.crypto.tokens import PhaseToken
from reconciler.errors import ReconcilerError
from reconciler.providers.kit.http import HttpClient
from reconciler.providers.kit.pacing import SharedBudget, TokenBucket
from reconciler.state.store import StateStore

__all__ = ["PhaseClient", "TokenBucket", "pacing_budget", "pacing_scope"]

SYSTEM = "Phase"


def pacing_scope(key: bytes, url: str, token: PhaseToken) -> str:
    """``<url>#<16 hex>``: the server, and the token's principal as an HMAC of the token's bearer
    field under the state store's fingerprint key. Neither the token nor a plain hash of it
    (which could be matched against a leaked token) is kept. Two tokens of one principal get
    two scopes: each paces itself; the usual CI job (one token, ``apply`` then ``plan``) shares
    one."""
    mac = hmac.new(key, f"phase-pacing\n{url}\n{token.bearer}".encode(), hashlib.sha256)
    return f"{url.rstrip('/')}#{mac.hexdigest()[:16]}"


def pacing_budget(
    store: StateStore | None, url: str, token: PhaseToken, rate: int
) -> SharedBudget | None:
    """The token bucket runs against ``url`` with ``token`` share through ``store``; ``None``
    (a bucket of this process only) without a store or when it has no fingerprint key."""
    if store is None:
        return None
    try:
        key = store.fingerprint_key
    except ReconcilerError:  # a store that cannot give a key: pace this run alone
        return None
    return SharedBudget.open(store, "phase", pacing_scope(key, url, token), rate)


class PhaseClient(HttpClient):
    """HTTP access to one Phase organisation; see the module docstring."""

    def __init__(
        self,
        url: str,
        token: PhaseToken,
        rate_limit: int = 240,
        *,
        budget: SharedBudget | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(
            url,
            system=SYSTEM,
            headers={"Authorization": token.authorization()},
            rate_limit=rate_limit,
            budget=budget,
            transport=transport,
            sleep=sleep,
        )
        self.token = token

    def request(self, method: str, path: str, *, root: bool = False, **kw: Any) -> Any:
        """``HttpClient.request`` for a Phase path (ends with ``/``); ``root`` paths drop a
        ``/public`` suffix of the base URL."""
        assert path.endswith("/"), "Phase paths need their trailing slash"
        base = self.base.removesuffix("/public") if root else None
        return super().request(method, path, base=base, **kw)

    def unanswered(self, method: str, path: str, why: str) -> str:
        return f"{method} {path}: {why} (no answer from the target)"
