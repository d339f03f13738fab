"""Serving sandboxes: one ASGI app on a uvicorn thread (``AppServer``), the registration object
every system's sandbox exposes (``SandboxMount``), and the host that runs several systems in one
process, each on its own loopback port (``Host``).

How a system plugs in (the registration contract)
=================================================

A system ``<name>`` (the same name as its provider and its spec section) adds:

1. One folder ``reconciler/sandbox/<name>/`` holding its server. Its state lives in SQLite
   files named after the system (``<data_dir>/<name>.sqlite3``, or ``<name>-*.sqlite3``): the
   data directory is shared by every system the host serves.
2. A server class, usually a subclass of ``AppServer``, satisfying ``SandboxServer``:

   * constructed as ``factory(port=PORT, data_dir=DIR)``; ``port`` 0 means any free loopback
     port; ``data_dir`` ``None`` means temporary state removed by ``stop()``, else state kept
     in (and resumed from) ``data_dir``. The constructor binds the port (a busy port raises
     ``ReconcilerError``) and prepares the state, but serves nothing yet;
   * ``url``: the root URL clients are given (``http://127.0.0.1:PORT``, plus a path prefix if
     the real server has one);
   * ``credentials``: the environment variables a user exports to reach it, ``URL`` first
     (e.g. ``MESSAGES_URL``, ``MESSAGES_API_KEY``); every name starts with ``<NAME>_``;
   * ``start(timeout=10.0)`` returns once the server answers, raising ``ReconcilerError``
     otherwise; ``stop()`` stops serving, releases the port, saves or removes the state and
     may be called twice or without ``start()``.

   ``AppServer`` provides all of it but ``credentials``: the subclass binds through
   ``super().__init__(port, host, name=...)``, builds its app, calls ``self.serve(app)``, and
   overrides ``release()`` to close its store.
3. A module ``reconciler/sandbox/<name>/mount.py`` defining ``MOUNT = SandboxMount(...)``:
   ``name``, ``title`` (one line for humans), ``factory`` (the server class or any callable
   with the constructor contract above) and ``try_it`` (a shell command using only the
   exported variables, e.g. a ``curl`` of a list endpoint; the CLI prints it).
4. One line ``"<name>": "reconciler.sandbox.<name>.mount"`` in ``_MODULES`` of
   ``reconciler/sandbox/registry.py``.

Then ``reconciler sandbox`` serves it next to the others, ``--only <name>`` serves it alone,
and tests start it on their own with ``MOUNT.factory(port=0, data_dir=None)``.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar, Protocol, Self, runtime_checkable

import httpx
import uvicorn

from reconciler.errors import ReconcilerError


@runtime_checkable
class SandboxServer(Protocol):
    """What the host needs of one system's sandbox; see the module docstring."""

    @property
    def url(self) -> str: ...

    @property
    def credentials(self) -> Mapping[str, str]: ...

    def start(self, timeout: float = 10.0) -> None: ...

    def stop(self) -> None: ...


@dataclass(frozen=True)
class SandboxMount:
    """One system's registration: ``MOUNT`` in ``reconciler/sandbox/<name>/mount.py``.

    ``factory(port=..., data_dir=...)`` builds an unstarted server (see the module docstring);
    ``try_it`` is a shell command that works once the ``export`` lines are pasted.
    """

    name: str
    title: str
    factory: Callable[..., SandboxServer]
    try_it: str


class _StartStop:
    """``with x:`` is ``x.start()`` … ``x.stop()``, for the servers and the host."""

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class AppServer(_StartStop):
    """One ASGI app served by uvicorn on a daemon thread, on a socket bound at construction.

    Subclasses build their app and call ``serve(app)`` in their constructor, and override
    ``release()`` to close what they hold (called once, by ``stop()``, after the server has
    stopped). ``health_path`` is polled by ``start()`` until it answers 200.
    """

    health_path: ClassVar[str] = "/health/"

    def __init__(self, port: int = 0, host: str = "127.0.0.1", name: str = "") -> None:
        self.host = host
        self.name = name
        # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets that say so
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self._sock.bind((host, port))
        except OSError as exc:
            self._sock.close()
            raise ReconcilerError(
                f"{self._label}: cannot listen on {host}:{port} ({exc.strerror})"
            ) from None
        self.port = int(self._sock.getsockname()[1])
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._stopped = False

    @property
    def _label(self) -> str:
        return f"{self.name} sandbox" if self.name else "sandbox"

    @property
    def root(self) -> str:
        """``http://HOST:PORT`` (IPv6 hosts bracketed): where ``health_path`` is polled."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def url(self) -> str:
        """The URL clients are given: ``root``; override to add the real server's path prefix."""
        return self.root

    def serve(self, app: Any) -> None:
        """Set the ASGI app to serve (once, before ``start()``)."""
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
        self._server = uvicorn.Server(config)

    def start(self, timeout: float = 10.0) -> None:
        """Serve on a daemon thread; return when ``GET health_path`` answers 200."""
        server = self._server
        if server is None:
            raise ReconcilerError(f"{self._label}: no app to serve")
        if self._thread is not None or self._stopped:
            raise ReconcilerError(f"{self._label}: already started (a server starts once)")
        self._thread = threading.Thread(
            target=server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=1.0) as client:
            while time.monotonic() < deadline:
                if server.started:
                    try:
                        if client.get(f"{self.root}{self.health_path}").status_code == 200:
                            return
                    except httpx.TransportError:
                        pass
                time.sleep(0.005)
        self.stop()
        raise ReconcilerError(f"{self._label}: did not start within {timeout:.0f}s")

    def stop(self) -> None:
        """Stop serving, release the port, then ``release()``; idempotent."""
        if self._stopped:
            return
        self._stopped = True
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self._sock.close()
        self.release()

    def release(self) -> None:
        """Close what the subclass holds (stores, temporary directories); called by ``stop()``."""


class Host(_StartStop):
    """Several systems' sandboxes in one process, each on its own loopback port.

    ``port`` 0 gives every system a free port; ``port`` N gives the first mount N, the next
    N+1, and so on (mount order). ``data_dir`` is shared (each system names its files after
    itself). Construction binds every port (a busy one raises ``ReconcilerError`` naming it,
    after releasing the others); ``start()`` starts them all or none; ``stop()`` stops them all.
    """

    def __init__(
        self, mounts: Sequence[SandboxMount], port: int = 0, data_dir: Path | None = None
    ) -> None:
        self.mounts = list(mounts)
        self.servers: dict[str, SandboxServer] = {}
        try:
            for i, mount in enumerate(self.mounts):
                self.servers[mount.name] = mount.factory(
                    port=port + i if port else 0, data_dir=data_dir
                )
        except BaseException:
            self.stop()
            raise

    def start(
        self,
        timeout: float = 10.0,
        on_ready: Callable[[SandboxMount, SandboxServer], None] | None = None,
    ) -> None:
        """Start every server in mount order, calling ``on_ready(mount, server)`` as soon as
        each one answers (so the first system is usable while the next ones start); if one
        fails, stop them all and raise."""
        try:
            for mount in self.mounts:
                server = self.servers[mount.name]
                server.start(timeout)
                if on_ready is not None:
                    on_ready(mount, server)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop every server (last started first); idempotent."""
        for server in reversed(list(self.servers.values())):
            server.stop()
