"""PhaseClient: the v1 REST API over httpx, paced, retried and counted.

* Authorization ``Bearer User|ServiceAccount <token>`` from the ``pss_*`` token (field 3 only:
  the server refuses the whole string). The token never appears in an error.
* Paths always end with ``/`` (the server has no redirect); bodies are snake_case JSON.
* A token bucket paces requests to ``rate_limit`` per minute (the server counts one budget per
  principal in a sliding minute; see ``TokenBucket``). A 429 waits ``Retry-After`` seconds (an
  integer) and retries: throttled requests were not executed, so this is safe for every method;
  so is a connection that could not be opened. 5xx answers and other transport errors (a dropped
  connection, a lost answer) are retried with exponential backoff and jitter for GET, PUT and
  DELETE; a POST is not retried here (it may have been executed): the provider looks the
  object up by name before it posts again.
* Errors raise ``ProviderError(address, message, status)`` with the server's ``error`` text.
* Logging (``reconciler.phase``): each answer at DEBUG (method, path, status, milliseconds),
  each retry and 429 wait at INFO. Never a header, a body or an answer.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import httpx

from reconciler.crypto.tokens import PhaseToken
from reconciler.errors import ProviderError, TransportError

log = logging.getLogger("reconciler.phase")


class TokenBucket:
    """``rate`` tokens; a request takes one, and each token comes back one minute after it was
    taken. So no sliding minute ever holds more than ``rate`` requests (the server's own
    throttle window, contracts/phase.md §3), a short run is never slowed down, and a long one
    settles at ``rate`` per minute. Thread-safe: concurrent callers get successive slots."""

    def __init__(self, rate: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = max(1, rate)
        self.clock = clock
        self.taken: deque[float] = deque()  # when each of the last ``rate`` tokens was taken
        self.lock = threading.Lock()

    def delay(self) -> float:
        """Take a token; the seconds to wait before sending (0 when one is free now)."""
        with self.lock:
            now = self.clock()
            slot = now if len(self.taken) < self.rate else max(now, self.taken[0] + 60.0)
            self.taken.append(slot)
            while len(self.taken) > self.rate:
                self.taken.popleft()
            return slot - now


class PhaseClient:
    """HTTP access to one Phase organisation; see the module docstring."""

    RETRIES = 5
    THROTTLED = 30  # 429 answers waited out per request before giving up
    MAX_WAIT = 120.0

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
        attempt = throttled = 0
        while True:
            wait = self.bucket.delay()
            if wait:
                self.sleep(wait)
            self._count("requests")
            started = time.monotonic()
            try:
                response = self.http.request(method, url, json=body, params=params)
            except httpx.TransportError as exc:
                # A connection never opened carried nothing: safe to retry for every method.
                unsent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
                if (unsent or method != "POST") and attempt < self.RETRIES:
                    attempt += 1
                    self._count("retries")
                    log.info("%s %s: %s, retry %d", method, path, type(exc).__name__, attempt)
                    self.sleep(self.backoff(attempt))
                    continue
                raise TransportError(
                    address, f"{method} {path}: {type(exc).__name__} (no answer from the target)"
                ) from None
            status = response.status_code
            log.debug(
                "%s %s -> %d (%.0f ms)", method, path, status, 1000 * (time.monotonic() - started)
            )
            if status == 429 and throttled < self.THROTTLED:
                throttled += 1
                self._count("throttled")
                wait_for = self._retry_after(response)
                log.info("%s %s: throttled, waiting %.0f s", method, path, wait_for)
                self.sleep(wait_for)
                continue
            if status >= 500 and method != "POST" and attempt < self.RETRIES:
                attempt += 1
                self._count("retries")
                log.info("%s %s: HTTP %d, retry %d", method, path, status, attempt)
                self.sleep(self.backoff(attempt))
                continue
            if status == 404 and ok_missing:
                return None
            if status >= 300:
                raise ProviderError(
                    address, f"{method} {path}: HTTP {status}: {_error(response)}", status
                )
            if status == 204 or not response.content:
                return None
            try:
                return response.json()
            except ValueError:
                raise ProviderError(
                    address, f"{method} {path}: HTTP {status}: the answer is not JSON", status
                ) from None

    def _retry_after(self, response: httpx.Response) -> float:
        """``Retry-After`` in whole seconds (1 when absent or not a number), capped."""
        try:
            return min(
                self.MAX_WAIT, max(0.0, float(int(response.headers.get("Retry-After", "1"))))
            )
        except ValueError:
            return 1.0

    @staticmethod
    def backoff(attempt: int) -> float:
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
