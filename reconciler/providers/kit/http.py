"""HttpClient: one system's API over httpx, paced, retried, counted, logged without secrets.

Contract of ``HttpClient.request``:

* Pacing: every attempt takes a slot from the token bucket (``pacing.TokenBucket``, shared
  across runs through ``SharedBudget`` when the provider gives one); its token is counted from
  when the answer came back (``TokenBucket.settle``).
* 429, and 503 with ``Retry-After``: the request was not executed; wait ``Retry-After`` seconds
  (capped at ``MAX_WAIT``; 1 s when absent or unreadable; an HTTP-date is honoured too) and send it
  again, whatever the method, at most ``THROTTLED`` times.
* A connection that could not be opened carried nothing: retried for every method. Other
  transport errors (a dropped connection, a lost answer, a read timeout) and 5xx answers are
  retried with jittered exponential back-off only for idempotent requests (GET, HEAD, OPTIONS,
  PUT, DELETE, or ``idempotent=True``); a POST is never re-sent here: the caller looks the object
  up first (``create.create_once``).
* Bounds: each attempt has ``timeout`` seconds to connect and between bytes, and its whole
  answer must arrive within ``timeout`` seconds too (a trickle never holds a run); no retry
  starts after ``DEADLINE_FACTOR * timeout`` seconds since the first attempt (throttle waits
  aside). ``timeout`` defaults to ``RECONCILER_HTTP_TIMEOUT`` (seconds) or 30. An answer over
  ``MAX_ANSWER`` bytes (decoded) is refused without being read further; JSON nested deeper than
  the decoder takes is "not JSON". TLS is always verified; a failed verification is not retried.
* Plain ``http://`` to a host other than loopback is refused at construction (credentials
  would cross the network unencrypted) unless the connection says ``allow_insecure_http: true``
  (``kit.insecure.insecure_http_allowed``, set around a provider's opening by the engine).
* Answers: ``None`` for 204 or an empty body (and for 404 with ``ok_missing``); otherwise the
  decoded JSON. ``decoded`` validates it into a pydantic model (``answers.decode``).
* Errors: ``ProviderError(address, "<METHOD> <path>: HTTP <status>: <server's message>",
  status)``; ``TransportError`` when the target never answered. Every message is redacted
  against the client's secrets (header values and ``secrets``).
* Counting: ``counts`` (requests, retries, throttled) and ``routes`` (requests by
  ``METHOD /path/{id}/`` template), for ``plan --stats``.
* Logging (``reconciler.<system>``): each answer at DEBUG (method, path, status, milliseconds),
  each retry and throttle wait at INFO. Never a header, a body, a query value or an answer.
"""

from __future__ import annotations

import email.utils
import logging
import os
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel

from reconciler.errors import ProviderError, TransportError
from reconciler.providers.kit.answers import decode
from reconciler.providers.kit.insecure import check_scheme
from reconciler.providers.kit.pacing import SharedBudget, TokenBucket
from reconciler.secrets.redact import redact
from reconciler.secrets.value import Secret

M = TypeVar("M", bound=BaseModel)

IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
_ID_SEGMENT = re.compile(
    r"^(\d+|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    r"|[0-9a-fA-F]{16,}|[^/]*@[^/]*)$"
)


def route_of(method: str, path: str) -> str:
    """``GET /v1/apps/{id}/`` for ``GET /v1/apps/3f0c…/``: ids, numbers, e-mails templated."""
    parts = ["{id}" if _ID_SEGMENT.match(p) else p for p in path.split("/")]
    return f"{method} {'/'.join(parts)}"


def error_text(response: httpx.Response) -> str:
    """The server's own message from common error bodies: ``{"error": …}``, ``{"detail": …}``,
    ``{"message": …}``, DRF field errors ``{"field": ["…"]}`` or ``["…"]``."""
    try:
        body = response.json()
    except (ValueError, RecursionError):
        return "(no JSON body)"
    if isinstance(body, dict):
        for key in ("error", "detail", "message"):
            if isinstance(body.get(key), str):
                return str(body[key])
        fields = [
            f"{k}: {v[0] if isinstance(v, list) and v else v}"
            for k, v in body.items()
            if isinstance(v, list | str)
        ]
        if fields:
            return "; ".join(str(f) for f in fields[:3])
    if isinstance(body, list) and body and all(isinstance(x, str) for x in body):
        return "; ".join(body[:3])
    return "(unexpected error body)"


TIMEOUT_VARIABLE = "RECONCILER_HTTP_TIMEOUT"


def default_timeout() -> float:
    """``RECONCILER_HTTP_TIMEOUT`` seconds when set to a positive number, else 30."""
    try:
        value = float(os.environ.get(TIMEOUT_VARIABLE, "30"))
    except ValueError:
        return 30.0
    return value if value > 0 else 30.0


class AnswerTooLarge(Exception):
    """The answer's body grew past ``HttpClient.MAX_ANSWER`` bytes."""


class AnswerTooSlow(Exception):
    """The answer's body did not arrive within the attempt's time."""


def _origin(response: httpx.Response) -> str:
    """Scheme, host and port of a redirect's ``Location`` (never its path or query)."""
    try:
        where = response.request.url.join(response.headers.get("Location", ""))
    except (httpx.InvalidURL, ValueError):
        return "an unreadable address"
    return f"{where.scheme}://{where.netloc.decode('ascii', 'replace')}"


def _why(exc: Exception, timeout: float) -> str:
    """What went wrong with an attempt, in a few words (never the exception's own text,
    which may quote a URL with its query)."""
    if isinstance(exc, AnswerTooSlow):
        return f"answer not complete within {timeout:g} s"
    if isinstance(exc, httpx.ConnectError) and ("SSL" in str(exc) or "CERTIFICATE" in str(exc)):
        return "TLS verification failed"
    if isinstance(exc, httpx.TimeoutException):
        return f"{type(exc).__name__} after {timeout:g} s"
    return type(exc).__name__


class HttpClient:
    """HTTP access to one target of one system; see the module docstring."""

    RETRIES = 5
    THROTTLED = 30
    MAX_WAIT = 120.0
    MAX_ANSWER = 64 * 1024 * 1024
    DEADLINE_FACTOR = 3.0

    def __init__(
        self,
        base_url: str,
        *,
        system: str,
        headers: Mapping[str, str] | None = None,
        secrets: Sequence[str] = (),
        rate_limit: int = 240,
        budget: SharedBudget | None = None,
        error_text: Callable[[httpx.Response], str] = error_text,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        timeout: float | None = None,
    ) -> None:
        self.base = base_url.rstrip("/")
        self.system = system
        check_scheme(self.base, system)
        self.budget = budget
        self.bucket = budget.bucket if budget is not None else TokenBucket(rate_limit)
        self.sleep = sleep
        self.error_text = error_text
        timeout = default_timeout() if timeout is None else timeout
        self.timeout = timeout
        self.log = logging.getLogger(f"reconciler.{system.lower().replace(' ', '_')}")
        # A header value and its credential part (``Bearer <token>`` -> ``<token>``) are secret.
        values = [*secrets, *(headers or {}).values()]
        values += [v.rsplit(" ", 1)[-1] for v in (headers or {}).values()]
        self._secrets = [Secret(v) for v in values if len(v) >= 4]
        self.http = httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(10.0, timeout)),
            headers={"Accept": "application/json", **(headers or {})},
            transport=transport,
            follow_redirects=False,  # credentials never follow a redirect to another origin
        )
        self.lock = threading.Lock()
        self.counts = {"requests": 0, "retries": 0, "throttled": 0}
        self.routes: Counter[str] = Counter()

    # -- counting and messages --------------------------------------------------------------

    def _count(self, key: str, route: str | None = None) -> None:
        with self.lock:
            self.counts[key] += 1
            if route is not None:
                self.routes[route] += 1

    def stats(self) -> dict[str, Any]:
        """Counters since the client was opened, with requests by route template."""
        with self.lock:
            return {**self.counts, "routes": dict(sorted(self.routes.items()))}

    def redact(self, text: str) -> str:
        return redact(text, self._secrets)

    # -- requests ---------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: Mapping[str, str] | None = None,
        address: object = None,
        ok_missing: bool = False,
        base: str | None = None,
        idempotent: bool | None = None,
        headers: Mapping[str, str] | None = None,
        route: str | None = None,
    ) -> Any:
        """Send one request (see the module docstring); ``path`` starts with ``/``; ``base``
        replaces the client's base URL for this request; ``route`` names it in ``stats`` when
        the path alone does not (one GraphQL endpoint serving many operations)."""
        url = (self.base if base is None else base.rstrip("/")) + path
        route = route or route_of(method, path)
        retry_safe = method in IDEMPOTENT if idempotent is None else idempotent
        attempt = throttled = 0
        deadline = time.monotonic() + self.DEADLINE_FACTOR * self.timeout
        while True:
            slot = self.bucket.take()
            wait = slot - self.bucket.clock()
            if wait > 0:
                self.sleep(wait)
            self._count("requests", route)
            started = time.monotonic()
            try:
                response = self._send(method, url, body, params, headers)
            except AnswerTooLarge:
                self.bucket.settle(slot)
                limit = self.MAX_ANSWER // (1024 * 1024)
                raise ProviderError(
                    address,
                    f"{method} {path}: the answer from {self.system} is larger than {limit} MB",
                ) from None
            except (httpx.TransportError, AnswerTooSlow) as exc:
                self.bucket.settle(slot)
                why = _why(exc, self.timeout)
                unsent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
                retry = (unsent or retry_safe) and "TLS" not in why
                if retry and attempt < self.RETRIES and time.monotonic() < deadline:
                    attempt += 1
                    self._retry(method, path, why, attempt)
                    continue
                raise TransportError(address, self.unanswered(method, path, why)) from None
            self.bucket.settle(slot)
            status = response.status_code
            self.log.debug(
                "%s %s -> %d (%.0f ms)", method, path, status, 1000 * (time.monotonic() - started)
            )
            throttle = status == 429 or (status == 503 and "Retry-After" in response.headers)
            if throttle and throttled < self.THROTTLED:
                throttled += 1
                self._count("throttled")
                wait_for = self.retry_after(response)
                self.log.info("%s %s: throttled, waiting %.0f s", method, path, wait_for)
                self.sleep(wait_for)
                continue
            late = time.monotonic() >= deadline
            if status >= 500 and retry_safe and attempt < self.RETRIES and not late:
                attempt += 1
                self._retry(method, path, f"HTTP {status}", attempt)
                continue
            return self._answer(method, path, response, address, ok_missing)

    def _send(
        self,
        method: str,
        url: str,
        body: Any,
        params: Mapping[str, str] | None,
        headers: Mapping[str, str] | None,
    ) -> httpx.Response:
        """One attempt, its answer read in pieces: at most ``MAX_ANSWER`` decoded bytes, all
        within ``timeout`` seconds; returns a response holding the body read."""
        request = self.http.build_request(
            method, url, json=body, params=dict(params or {}) or None, headers=headers
        )
        response = self.http.send(request, stream=True)
        try:
            ends = time.monotonic() + self.timeout
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > self.MAX_ANSWER:
                    raise AnswerTooLarge
                if time.monotonic() > ends:
                    raise AnswerTooSlow
                chunks.append(chunk)
        finally:
            response.close()
        skip = {"content-encoding", "content-length", "transfer-encoding"}
        kept = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in skip]
        return httpx.Response(
            response.status_code, headers=kept, content=b"".join(chunks), request=request
        )

    def unanswered(self, method: str, path: str, why: str) -> str:
        """The message of a ``TransportError`` (a system's client may word it its own way)."""
        return f"{method} {path}: {why} (no answer from {self.system})"

    def _retry(self, method: str, path: str, why: str, attempt: int) -> None:
        self._count("retries")
        self.log.info("%s %s: %s, retry %d", method, path, why, attempt)
        self.sleep(self.backoff(attempt))

    def _answer(
        self, method: str, path: str, response: httpx.Response, address: object, ok_missing: bool
    ) -> Any:
        status = response.status_code
        if status == 404 and ok_missing:
            return None
        if status >= 300:
            text = self.error_text(response)
            if 300 <= status < 400:
                text = f"{self.system} redirects to {_origin(response)}; not followed"
            elif text == "(no JSON body)":
                text = f"{self.system} answered without JSON"
            message = self.redact(f"{method} {path}: HTTP {status}: {text}")
            raise ProviderError(address, message, status)
        if status == 204 or not response.content:
            return None
        try:
            return response.json()
        except (ValueError, RecursionError):
            raise ProviderError(
                address,
                f"{method} {path}: HTTP {status}: the answer from {self.system} is not JSON",
                status,
            ) from None

    def decoded(self, model: type[M], method: str, path: str, **kw: Any) -> M:
        """``request`` whose answer is validated as ``model`` (see ``answers.decode``)."""
        data = self.request(method, path, **kw)
        return decode(model, data, address=kw.get("address"), system=self.system)

    def get(self, path: str, **kw: Any) -> Any:
        return self.request("GET", path, **kw)

    def retry_after(self, response: httpx.Response) -> float:
        """``Retry-After`` as seconds (delta or HTTP-date), 1 when absent/unreadable, capped."""
        raw = response.headers.get("Retry-After", "1").strip()
        try:
            seconds = float(raw)
        except ValueError:
            try:
                when = email.utils.parsedate_to_datetime(raw)
            except (TypeError, ValueError):
                return 1.0
            seconds = when.timestamp() - time.time()
        return min(self.MAX_WAIT, max(0.0, seconds))

    @staticmethod
    def backoff(attempt: int) -> float:
        """Exponential back-off with jitter: ~0.2 s, 0.4 s, 0.8 s… capped at 8 s."""
        return float(min(8.0, 0.1 * 2**attempt) * (0.5 + random.random()))

    def close(self) -> None:
        """Close the connection pool and hand the pacing slots to the next run."""
        self.http.close()
        if self.budget is not None:
            self.budget.save()
