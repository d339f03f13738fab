"""PhaseClient: the v1 REST API over httpx, paced, retried and counted.

* Authorization ``Bearer User|ServiceAccount <token>`` from the ``pss_*`` token (field 3 only:
  the server refuses the whole string). The token never appears in an error.
* Paths always end with ``/`` (the server has no redirect); bodies are snake_case JSON.
* A token bucket paces requests to ``rate_limit`` per minute (the server counts one budget per
  principal). A 429 waits ``Retry-After`` seconds and retries: throttled requests were not
  executed, so this is safe for every method. 5xx answers and transport errors are retried with
  exponential backoff and jitter for GET, PUT and DELETE; a POST is never retried here (it may
  have been executed): the provider looks the object up by name first.
* Errors raise ``ProviderError(address, message, status)`` with the server's ``error`` text.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx

from reconciler.crypto.tokens import PhaseToken
from reconciler.errors import ProviderError, TransportError


class TokenBucket:
    """``rate`` requests per minute, bursting up to ``burst``; thread-safe."""

    def __init__(
        self, rate: int, burst: int | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate / 60.0
        # The server counts a sliding one-minute window, so a full minute's budget may burst.
        self.capacity = float(burst if burst is not None else rate)
        self.tokens = self.capacity
        self.clock = clock
        self.stamp = clock()
        self.lock = threading.Lock()

    def delay(self) -> float:
        """Take one token; the seconds to wait before sending (0 when one is available)."""
        with self.lock:
            now = self.clock()
            self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            self.tokens -= 1
            return 0.0 if self.tokens >= 0 else -self.tokens / self.rate


class PhaseClient:
    """HTTP access to one Phase organisation; see the module docstring."""

    RETRIES = 5

    def __init__(
        self,
        url: str,
        token: PhaseToken,
        rate_limit: int = 240,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base = url.rstrip("/")
        self.token = token
        self.bucket = TokenBucket(rate_limit)
        self.sleep = sleep
        self.http = httpx.Client(
            timeout=httpx.Timeout(30.0, connect=10.0),
            headers={"Authorization": token.authorization(), "Accept": "application/json"},
            transport=transport,
        )
        self.lock = threading.Lock()
        self.counts = {"requests": 0, "retries": 0, "throttled": 0}

    def _count(self, key: str) -> None:
        with self.lock:
            self.counts[key] += 1

    def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: dict[str, str] | None = None,
        address: object = None,
        ok_missing: bool = False,
        root: bool = False,
    ) -> Any:
        """Send one request; returns the decoded JSON (``None`` for 204, or for 404 when
        ``ok_missing``). ``path`` starts with ``/`` and ends with ``/``. ``root`` paths
        (``/secrets/tokens/``) are served beside the public API, so a ``/public`` suffix of the
        base URL is dropped for them."""
        assert path.endswith("/"), "Phase paths need their trailing slash"
        base = self.base.removesuffix("/public") if root else self.base
        url = base + path
        attempt = 0
        while True:
            wait = self.bucket.delay()
            if wait:
                self.sleep(wait)
            self._count("requests")
            try:
                response = self.http.request(method, url, json=body, params=params)
            except httpx.TransportError as exc:
                if method != "POST" and attempt < self.RETRIES:
                    attempt += 1
                    self._count("retries")
                    self.sleep(self._backoff(attempt))
                    continue
                raise TransportError(
                    address, f"{method} {path}: {type(exc).__name__} (target unreachable)"
                ) from None
            status = response.status_code
            if status == 429:
                self._count("throttled")
                self.sleep(self._retry_after(response))
                continue
            if status >= 500 and method != "POST" and attempt < self.RETRIES:
                attempt += 1
                self._count("retries")
                self.sleep(self._backoff(attempt))
                continue
            if status == 404 and ok_missing:
                return None
            if status >= 400:
                raise ProviderError(
                    address, f"{method} {path}: HTTP {status}: {_error(response)}", status
                )
            if status == 204 or not response.content:
                return None
            return response.json()

    @staticmethod
    def _retry_after(response: httpx.Response) -> float:
        try:
            return max(0.0, float(response.headers.get("Retry-After", "1")))
        except ValueError:
            return 1.0

    @staticmethod
    def _backoff(attempt: int) -> float:
        return float(min(8.0, 0.1 * 2**attempt) * (0.5 + random.random()))

    def get(self, path: str, params: dict[str, str] | None = None, address: object = None) -> Any:
        return self.request("GET", path, params=params, address=address)

    def close(self) -> None:
        self.http.close()


def _error(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return "(no JSON body)"
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return str(body["error"])
    return "(unexpected error body)"
