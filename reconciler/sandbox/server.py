"""Sandbox: the Phase sandbox served by uvicorn on a background thread.

``Sandbox(port=0)`` listens on a free loopback port. ``start()`` returns once the socket answers;
``url`` is the host root, used as ``PHASE_URL`` (clients call ``{PHASE_URL}/v1/...``; the same
API is served under ``/public/v1/...`` and ``/service/...``). ``credentials`` holds
``PHASE_URL``, ``PHASE_TOKEN`` (the owner's ``pss_user:v1`` PAT), ``PHASE_EMAIL`` and
``PHASE_PASSWORD``.

State is kept in SQLite: in ``<data_dir>/phase.sqlite3`` when a data directory is given (a
restart resumes the organisation, the owner's PAT included; the default organisation is seeded
only into a new database), else in a temporary file removed by ``stop()``. ``plan`` ("free",
"pro" or "enterprise") sets the organisation's plan and its gates; ``rate_limit`` (requests per
minute per principal) turns the throttle on, as ``RATE_LIMIT_DEFAULT`` does on a self-hosted
server. ``seed=False`` starts with an empty organisation (no roles, no members).
"""

from __future__ import annotations

import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

import httpx
import uvicorn

from reconciler.crypto import primitives as p
from reconciler.errors import ReconcilerError
from reconciler.sandbox.phase.api import Runtime, build_app
from reconciler.sandbox.phase.control import make_control
from reconciler.sandbox.phase.seed import OWNER_EMAIL, seed_default
from reconciler.sandbox.phase.session import extras
from reconciler.sandbox.phase.store import Store

PLANS = {"free": "FR", "pro": "PR", "enterprise": "EN"}


class Sandbox:
    """A Phase sandbox (serving once started); see the module docstring."""

    def __init__(
        self,
        port: int = 0,
        data_dir: Path | None = None,
        host: str = "127.0.0.1",
        seed: bool = True,
        rate_limit: int | None = None,
        plan: str = "pro",
    ) -> None:
        if plan not in PLANS:
            raise ReconcilerError(f"sandbox: unknown plan {plan!r} (free, pro or enterprise)")
        self.host = host
        self.plan = PLANS[plan]
        # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets that say so
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self._sock.bind((host, port))
        except OSError as exc:
            self._sock.close()
            raise ReconcilerError(
                f"sandbox: cannot listen on {host}:{port} ({exc.strerror})"
            ) from None
        self.port = int(self._sock.getsockname()[1])
        self._tmp: Path | None = None
        if data_dir is None:
            self._tmp = Path(tempfile.mkdtemp(prefix="phase-sandbox-"))
            data_dir = self._tmp
        data_dir.mkdir(parents=True, exist_ok=True)
        self.store = Store(data_dir / "phase.sqlite3")
        with self.store.lock:
            if self.store.empty:
                secret = p.random_hex()
                if seed:
                    self.store.data["sandbox"] = {"secret": secret}
                    self._reseed()
                else:
                    self.store.reset(self.plan)
                    self.store.data["sandbox"] = {"secret": secret, "owner_token": ""}
            self.store.org["plan"] = self.plan
            self.store.save()
        self.runtime = Runtime(self.store, rate_limit=rate_limit)
        control = make_control(self.runtime, self._reseed, self._credentials)
        app = build_app(self.runtime, control, extras())
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None
        self._stopped = False

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def _reseed(self) -> None:
        """Reset to the default organisation (keeps this sandbox's password secret)."""
        sandbox = self.store.data.get("sandbox") or {"secret": p.random_hex()}
        token = seed_default(self.store, str(sandbox["secret"]), self.plan)
        self.store.data["sandbox"] = {"secret": sandbox["secret"], "owner_token": token}
        self.store.save()

    def _credentials(self) -> dict[str, str]:
        owner = next(
            (m for m in self.store.table("members").values() if m["email"] == OWNER_EMAIL), None
        )
        return {
            "PHASE_URL": self.url,
            "PHASE_TOKEN": str(self.store.data.get("sandbox", {}).get("owner_token", "")),
            "PHASE_EMAIL": OWNER_EMAIL,
            "PHASE_PASSWORD": "" if owner is None else str(owner["password"]),
        }

    @property
    def credentials(self) -> Mapping[str, str]:
        with self.store.lock:
            return self._credentials()

    def start(self, timeout: float = 10.0) -> None:
        """Serve on a daemon thread; return when ``GET /health/`` answers."""
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=1.0) as client:
            while time.monotonic() < deadline:
                if self._server.started:
                    try:
                        if client.get(f"{self.url}/health/").status_code == 200:
                            return
                    except httpx.TransportError:
                        pass
                time.sleep(0.005)
        self.stop()
        raise ReconcilerError(f"sandbox: did not start within {timeout:.0f}s")

    def stop(self) -> None:
        """Stop serving and release the port (a data directory keeps the organisation)."""
        if self._stopped:
            return
        self._stopped = True
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self._sock.close()
        with self.store.lock:
            self.store.save()
            self.store.close()
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def __enter__(self) -> Sandbox:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
