"""The Messages example against a freshly reset sandbox, driven through the CLI.

``Org`` copies an example folder (``examples/messages-org`` by default) into a temporary
directory, points the environment at the sandbox (``MESSAGES_URL``, ``MESSAGES_API_KEY``, …) and
a fresh state file, and offers the CLI (``run``), convergence (``converge``), spec edits
(``edit``), drift findings (``drift``), the sandbox's control API (``ctl``, ``changes``) and
its admin API (``admin``).
"""

from __future__ import annotations

from typing import Any

import httpx
from helpers.example_org import ROOT, ExampleOrg

EXAMPLE = ROOT / "examples" / "messages-org"


class Org(ExampleOrg):
    EXAMPLE = EXAMPLE

    def stored(self, name: str) -> dict[str, Any]:
        """A domain as the server stores it (unreadable fields included)."""
        found: dict[str, Any] = next(d for d in self.ctl("GET", "domains/") if d["name"] == name)
        return found

    def admin(self, method: str, path: str, **kw: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.credentials['MESSAGES_ADMIN_TOKEN']}"}
        response = httpx.request(
            method, self.credentials["MESSAGES_URL"] + path, headers=headers, **kw
        )
        response.raise_for_status()
        return response.json() if response.content else None

    def admins(self, domain: str) -> list[str]:
        rows = self.admin("GET", f"maildomains/{self.stored(domain)['id']}/accesses/")
        return sorted(a["user"]["email"] for a in rows)
