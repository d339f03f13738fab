"""A hostile HTTP server on loopback: every request gets the same kind of bad answer.

``MODES``:

``huge``      200 announcing and streaming 101 MB (as long as the client reads)
``deep``      200 with JSON arrays nested 10,000 deep
``wrong``     200 with JSON of the wrong types where lists and objects are expected
``html``      502 with an HTML error page (a load balancer's)
``html200``   200 with an HTML login page (a captive portal, an SSO proxy)
``redirect``  302 to another origin (``other``, a second listener that records what reaches it)
``silent``    reads the request and never answers
``trickle``   200 whose body comes one byte every 0.2 s, forever
``tls``       TLS with a self-signed certificate (the client must refuse it)

``other.seen`` lists the ``Authorization``-like headers of requests that followed a redirect.
"""

from __future__ import annotations

import asyncio
import datetime
import ssl
import tempfile
from pathlib import Path

from loop_server import LoopServer

MODES = ("huge", "deep", "wrong", "html", "html200", "redirect", "silent", "trickle", "tls")
CREDENTIAL_HEADERS = ("authorization", "x-api-key", "cookie", "x-channel-id")
HTML = b"<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>"
WRONG = b'{"results": {"id": "x"}, "data": "nope", "count": "many", "next": 7, "id": []}'


def _response(status: str, body: bytes, kind: str = "application/json") -> bytes:
    head = f"HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


class HostileServer(LoopServer):
    """``start()`` returns the port; ``stop()`` closes every connection."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.requests = 0
        self.seen: list[dict[str, str]] = []  # credential headers received (``other`` only)
        self.other: HostileServer | None = HostileServer("record") if mode == "redirect" else None
        super().__init__()

    def start(self) -> int:
        if self.other is not None:
            self.other.start()
        return self._listen(_self_signed() if self.mode == "tls" else None)

    def stop(self) -> None:
        super().stop()
        if self.other is not None:
            self.other.stop()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                headers = {}
                for line in head.decode("latin-1").split("\r\n")[1:]:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
                length = int(headers.get("content-length") or 0)
                if length:
                    await reader.readexactly(length)
                self.requests += 1
                if not await self._answer(headers, writer):
                    break
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError, OSError):
            pass
        finally:
            writer.close()

    async def _answer(self, headers: dict[str, str], writer: asyncio.StreamWriter) -> bool:
        mode = self.mode
        if mode == "record":
            self.seen.append({k: v for k, v in headers.items() if k in CREDENTIAL_HEADERS})
            writer.write(_response("200 OK", b"[]"))
        elif mode == "huge":
            size = 101 * 1024 * 1024
            writer.write(f"HTTP/1.1 200 OK\r\nContent-Length: {size}\r\n\r\n".encode())
            writer.write(b"[")
            chunk = b"0," * (512 * 1024)
            for _ in range(size // len(chunk)):
                writer.write(chunk)
                await writer.drain()
            return False
        elif mode == "deep":
            writer.write(_response("200 OK", b"[" * 10_000 + b"]" * 10_000))
        elif mode == "wrong":
            writer.write(_response("200 OK", WRONG))
        elif mode == "html":
            writer.write(_response("502 Bad Gateway", HTML, "text/html"))
        elif mode == "html200":
            writer.write(_response("200 OK", b"<html><body>Sign in</body></html>", "text/html"))
        elif mode == "redirect":
            assert self.other is not None
            where = f"http://localhost:{self.other.port}/stolen"
            writer.write(
                f"HTTP/1.1 302 Found\r\nLocation: {where}\r\nContent-Length: 0\r\n\r\n".encode()
            )
        elif mode == "silent":
            await asyncio.sleep(3600)
        elif mode == "trickle":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n[")
            while True:
                await writer.drain()
                await asyncio.sleep(0.2)
                writer.write(b" ")
        await writer.drain()
        return True


def _self_signed() -> ssl.SSLContext:
    """A server context with a fresh self-signed certificate for 127.0.0.1."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    folder = Path(tempfile.mkdtemp(prefix="hostile-tls-"))
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    return context
