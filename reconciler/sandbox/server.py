"""Sandbox: the Phase sandbox, an ``AppServer`` (uvicorn on a background thread).

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
import tempfile
from collections.abc import Mapping
from pathlib import Path

from reconciler.crypto import primitives as p
from reconciler.errors import ReconcilerError
from reconciler.sandbox.host import AppServer
from reconciler.sandbox.phase.api import Runtime, build_app
from reconciler.sandbox.phase.control import make_control
from reconciler.sandbox.phase.seed import OWNER_EMAIL, seed_default
from reconciler.sandbox.phase.session import extras
from reconciler.sandbox.phase.store import Store

PLANS = {"free": "FR", "pro": "PR", "enterprise": "EN"}


class Sandbox(AppServer):
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
        self.plan = PLANS[plan]
        super().__init__(port, host, name="phase")
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
        self.serve(build_app(self.runtime, control, extras()))

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

    def release(self) -> None:
        """Save and close the store (a data directory keeps the organisation)."""
        with self.store.lock:
            self.store.save()
            self.store.close()
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None
