"""A fault-injecting HTTP/1.1 proxy on loopback, between the tool and one sandbox.

Real sockets, one asyncio loop on a daemon thread. Each request from the client is read whole
(head + ``Content-Length`` body), then, by a seeded draw, either forwarded untouched or given one
fault (``KINDS``):

``latency``   forwarded after 50-300 ms
``reset``     forwarded; the answer's head and half its body are sent, then the connection is
              aborted with a TCP RST (SO_LINGER 0)
``truncate``  forwarded; the answer's head (full ``Content-Length``) and half its body, then FIN
``burst``     not forwarded: 500/502/503 (no ``Retry-After``) for this and the next 0-2 requests
``throttle``  not forwarded: 429 with ``Retry-After: 0`` for this and the next 0-3 requests
``throttle_bare``  not forwarded: one 429 without ``Retry-After`` (the client waits its default)
``lost``      forwarded (the server acts) and the connection closed without an answer
``trickle``   forwarded; the answer is written in 16-byte pieces 2 ms apart

``rate`` is the chance a request not already in a burst or storm starts a fault. ``hook`` (for
the crash campaign) is called with the index of each request (1-based), its method and path, and
may return ``"before"`` (call ``kill`` and drop the request unsent), ``"after"`` (forward, then
``kill``, never answer), ``"delivered"`` (answer, then ``kill``) or ``"garble"`` (forward, then
answer JSON nested 10,000 deep instead of the server's answer). Draws happen in the order
requests arrive: with concurrent requests the same seed gives the same kinds of faults, not
always on the same requests.

The upstream request is sent with ``Connection: close`` and its answer read to EOF; the ``Host``
header is kept, so links a server builds from it (pagination) point back through the proxy.
"""

from __future__ import annotations

import asyncio
import random
import socket
import struct
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from loop_server import LoopServer

KINDS = ("latency", "reset", "truncate", "burst", "throttle", "throttle_bare", "lost", "trickle")
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})

Hook = Callable[[int, str, str], str | None]


@dataclass
class Request:
    method: str
    path: str
    head: bytes
    body: bytes


@dataclass
class Tally:
    requests: int = 0
    writes: int = 0
    faults: Counter[str] = field(default_factory=Counter)

    @property
    def injected(self) -> int:
        return sum(self.faults.values())


class FaultProxy(LoopServer):
    """``start()`` returns the listening port; ``stop()`` closes it (see the module docstring)."""

    def __init__(
        self,
        upstream_port: int,
        *,
        seed: int = 0,
        rate: float = 0.0,
        kinds: tuple[str, ...] = KINDS,
        upstream_host: str = "127.0.0.1",
    ) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.rng = random.Random(seed)
        self.rate = rate
        self.kinds = kinds
        self.hook: Hook | None = None
        self.kill: Callable[[], None] = lambda: None
        self.tally = Tally()
        self._streak: list[str] = []  # faults owed to the next requests (a burst, a storm)
        self._lock = threading.Lock()
        super().__init__()

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> int:
        return self._listen()

    def configure(self, *, seed: int, rate: float, hook: Hook | None = None) -> None:
        """New draws and counts (between runs of a campaign)."""
        with self._lock:
            self.rng = random.Random(seed)
            self.rate = rate
            self.hook = hook
            self.tally = Tally()
            self._streak = []

    # -- drawing ------------------------------------------------------------------------------

    def _draw(self, request: Request) -> tuple[int, str | None]:
        with self._lock:
            self.tally.requests += 1
            index = self.tally.requests
            if request.method in WRITES:
                self.tally.writes += 1
            if self._streak:
                kind: str | None = self._streak.pop()
            elif self.rate and self.rng.random() < self.rate:
                kind = self.rng.choice(self.kinds)
                if kind == "burst":
                    self._streak = ["burst"] * self.rng.randint(0, 2)
                elif kind == "throttle":
                    self._streak = ["throttle"] * self.rng.randint(0, 3)
            else:
                kind = None
            if kind is not None:
                self.tally.faults[kind] += 1
            return index, kind

    # -- serving ------------------------------------------------------------------------------

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                request = await _read_request(reader)
                if request is None:
                    break
                if not await self._serve(request, writer):
                    break
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        except asyncio.CancelledError:  # the proxy stops
            pass
        finally:
            if not writer.is_closing():
                writer.close()

    async def _serve(self, request: Request, writer: asyncio.StreamWriter) -> bool:
        """Answer one request; False when the connection is to be closed."""
        index, kind = self._draw(request)
        crash = self.hook(index, request.method, request.path) if self.hook else None
        if crash == "before":
            self.kill()
            return False
        if kind == "burst":
            status = self.rng.choice((500, 502, 503))
            await _write(writer, _plain(status, b'{"detail": "injected"}'))
            return True
        if kind in ("throttle", "throttle_bare"):
            extra = "Retry-After: 0\r\n" if kind == "throttle" else ""
            await _write(writer, _plain(429, b'{"detail": "slow down"}', extra))
            return True
        if kind == "latency":
            await asyncio.sleep(self.rng.uniform(0.05, 0.3))
        answer = await self._forward(request)
        if crash == "after":
            self.kill()
            return False
        if crash == "garble":
            await _write(writer, _plain(200, b"[" * 10_000 + b"]" * 10_000))
            return True
        if kind == "lost":
            return False
        head, _, body = answer.partition(b"\r\n\r\n")
        head = _without_connection_header(head) + b"\r\n\r\n"
        if kind in ("reset", "truncate"):
            await _write(writer, head + body[: len(body) // 2])
            if kind == "reset":
                _abort(writer)
            return False
        if kind == "trickle":
            data = head + body
            for i in range(0, len(data), 16):
                await _write(writer, data[i : i + 16])
                await asyncio.sleep(0.002)
        else:
            await _write(writer, head + body)
        if crash == "delivered":
            await asyncio.sleep(self.rng.uniform(0.0, 0.02))
            self.kill()
            return False
        return True

    async def _forward(self, request: Request) -> bytes:
        reader, writer = await asyncio.open_connection(*self.upstream)
        try:
            writer.write(request.head + request.body)
            await writer.drain()
            return await reader.read(-1)
        finally:
            writer.close()


async def _read_request(reader: asyncio.StreamReader) -> Request | None:
    try:
        raw = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    lines = raw.decode("latin-1").split("\r\n")
    method, path, _version = lines[0].split(" ", 2)
    headers = [line for line in lines[1:] if line]
    length = 0
    kept = []
    for line in headers:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
        if name.strip().lower() != "connection":
            kept.append(line)
    body = await reader.readexactly(length) if length else b""
    head = "\r\n".join([lines[0], *kept, "Connection: close", "", ""]).encode("latin-1")
    return Request(method, path, head, body)


def _without_connection_header(head: bytes) -> bytes:
    lines = head.split(b"\r\n")
    return b"\r\n".join(line for line in lines if not line.lower().startswith(b"connection:"))


def _plain(status: int, body: bytes, extra: str = "") -> bytes:
    reason = {429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway"}
    head = (
        f"HTTP/1.1 {status} {reason.get(status, 'Service Unavailable')}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n{extra}\r\n"
    )
    return head.encode() + body


async def _write(writer: asyncio.StreamWriter, data: bytes) -> None:
    writer.write(data)
    await writer.drain()


def _abort(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()
