"""``ConnectSandbox``: the CommCare Connect sandbox as an ``AppServer``.

``url`` is the server root ``http://127.0.0.1:PORT`` (the automation API is under ``/api/``,
the export API under ``/export/``). Seeded: the program-manager organisation ``acme-pm`` (admin
``admin@acme-pm.org``) and the delivering organisation ``kisumu-health`` (admin
``admin@kisumu-health.org``); delivery types, currencies and countries; a fake CommCare HQ at
``https://www.commcarehq.org`` with the domain ``acme`` (learn apps ``abc123``, ``ghi789``,
deliver apps ``def456``, ``jkl012``); ConnectID accounts for ``+254700000001``..``05``.

``credentials``: ``CONNECT_URL``, ``CONNECT_TOKEN`` (the program manager's admin, scopes read
write export, two weeks), ``CONNECT_HQ_API_KEY`` (an API key the fake HQ accepts) and
``CONNECT_PARTNER_TOKEN`` (the delivering organisation's admin). State lives in
``<data_dir>/connect.sqlite3`` (a restart resumes it) or in a temporary directory removed by
``stop()``.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from reconciler.sandbox.common.server import StoredSandbox
from reconciler.sandbox.connect import automation, export
from reconciler.sandbox.connect.app import Runtime, build_app
from reconciler.sandbox.connect.control import make_control, mint
from reconciler.sandbox.connect.hq import digest
from reconciler.sandbox.connect.store import Store
from reconciler.sandbox.connect.wire import Router

ROUTER = Router([*automation.ROUTES, *export.ROUTES])
HQ_URL = "https://www.commcarehq.org"
TWO_WEEKS = 14 * 24 * 3600


def _modules(*slugs: str) -> list[dict[str, object]]:
    return [
        {"slug": s, "name": s.replace("-", " ").title(), "description": "", "time_estimate": 10}
        for s in slugs
    ]


def _units(*slugs: str) -> list[dict[str, str]]:
    return [{"slug": s, "name": s.replace("-", " ").title()} for s in slugs]


class ConnectSandbox(StoredSandbox[Store]):
    """A Connect sandbox (serving once started); see the module docstring."""

    def __init__(self, port: int = 0, data_dir: Path | None = None, host: str = "127.0.0.1"):
        super().__init__(port, host, "connect", data_dir, Store)
        self.runtime = Runtime(self.store)
        control = make_control(self.runtime, self._seed, self._creds)
        self.serve(build_app(self.runtime, ROUTER, control))

    def _seed(self) -> None:
        store = self.store
        store.reset()
        settings = store.settings
        settings["delivery_types"] = ["malaria", "nutrition", "immunization"]
        settings["currencies"] = ["USD", "KES", "UGX"]
        settings["countries"] = ["Kenya", "Uganda", "Tanzania"]
        settings["connectid"] = [f"+25470000000{i}" for i in range(1, 6)]
        hq_key = secrets.token_hex(20)
        settings["hq"] = {
            "servers": [HQ_URL],
            "keys": [digest(hq_key)],
            "down": False,
            "apps": {
                "acme": {
                    "abc123": {"name": "Malaria Learn", "modules": _modules("intro", "safety")},
                    "def456": {
                        "name": "Malaria Deliver",
                        "deliver_units": _units("visit-form", "followup-form"),
                    },
                    "ghi789": {"name": "Nutrition Learn", "modules": _modules("basics")},
                    "jkl012": {
                        "name": "Nutrition Deliver",
                        "deliver_units": _units("screening", "referral-form"),
                    },
                }
            },
        }
        tokens = {}
        for slug, name, pm in (
            ("acme-pm", "Acme PM", True),
            ("kisumu-health", "Kisumu Health", False),
        ):
            store.insert("organizations", {"slug": slug, "name": name, "program_manager": pm})
            user = store.insert(
                "users",
                {"username": f"admin-{slug}", "name": f"{name} admin", "phone": ""}
                | {"email": f"admin@{slug}.org"},
            )
            store.insert("memberships", {"organization": slug, "user": user["id"], "role": "admin"})
            tokens[slug] = mint(store, user["id"], ["read", "write", "export"], TWO_WEEKS)
        settings["own"] = {"token": tokens["acme-pm"], "partner": tokens["kisumu-health"]}
        settings["own"]["hq_key"] = hq_key
        store.save()

    def _creds(self) -> dict[str, str]:
        own = self.store.settings["own"]
        return {
            "CONNECT_URL": self.url,
            "CONNECT_TOKEN": own["token"],
            "CONNECT_HQ_API_KEY": own["hq_key"],
            "CONNECT_PARTNER_TOKEN": own["partner"],
        }
