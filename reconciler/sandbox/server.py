"""Sandbox: the Phase sandbox served by uvicorn on a background thread.

``Sandbox(port=0)`` picks a free loopback port. ``start()`` returns once the socket accepts
requests; ``url`` is the API root (``PHASE_URL``; clients call ``{url}/v1/...``);
``credentials`` holds ``PHASE_URL``, ``PHASE_TOKEN`` (the owner's ``pss_user:v1`` PAT),
``PHASE_EMAIL`` and ``PHASE_PASSWORD``. With ``data_dir`` the organisation is kept in
``<data_dir>/phase.sqlite3`` and a restart resumes it (the owner's PAT included); without it
the organisation lives in memory. ``plan="free"`` applies the Free-plan gates; ``rate_limit``
(requests per minute per principal) turns the throttle on.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

import httpx
import uvicorn

from reconciler.errors import ReconcilerError
from reconciler.sandbox.phase.api import Runtime, build_app
from reconciler.sandbox.phase.control import make_control
from reconciler.sandbox.phase.seed import OWNER_EMAIL, seed_default
from reconciler.sandbox.phase.store import Store

PLANS = {"free": "FR", "pro": "PR", "enterprise": "EN"}


class Sandbox:
    """A running (once started) Phase sandbox; see the module docstring."""

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
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self._sock.bind((host, port))
        except OSError as exc:
            self._sock.close()
            raise ReconcilerError(
                f"sandbox: cannot listen on {host}:{port} ({exc.strerror})"
            ) from None
        self.port = int(self._sock.getsockname()[1])
        path = None
        if data_dir is not None:
            data_dir.mkdir(parents=True, exist_ok=True)
            path = data_dir / "phase.sqlite3"
        self.store = Store(path)
        if self.store.empty and seed:
            self.store.data["owner_token"] = ""
            token = seed_default(self.store)
            self.store.data["owner_token"] = token
        self.store.org["plan"] = PLANS[plan]
        self.store.save()
        self.runtime = Runtime(self.store, rate_limit=rate_limit)
        app = build_app(self.runtime, make_control(self.runtime, self._credentials, self._remember))
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _remember(self, token: str) -> None:
        self.store.data["owner_token"] = token

    def _credentials(self) -> dict[str, str]:
        owner = next(
            (m for m in self.store.table("members").values() if m["email"] == OWNER_EMAIL), None
        )
        return {
            "PHASE_URL": self.url,
            "PHASE_TOKEN": str(self.store.data.get("owner_token", "")),
            "PHASE_EMAIL": OWNER_EMAIL,
            "PHASE_PASSWORD": "" if owner is None else str(owner["password"]),
        }

    @property
    def credentials(self) -> Mapping[str, str]:
        return self._credentials()

    def start(self, timeout: float = 10.0) -> None:
        """Serve on a daemon thread; return when ``GET /health/`` answers."""
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/health/", timeout=1.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.02)
        self.stop()
        raise ReconcilerError(f"sandbox: did not start within {timeout:.0f}s")

    def stop(self) -> None:
        """Stop serving and release the port (the organisation stays in ``data_dir``)."""
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self._sock.close()
        with self.store.lock:
            self.store.save()

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
