"""``FlagsmithSandbox``: the Flagsmith sandbox as an ``AppServer``.

``url`` is the API root ``http://127.0.0.1:PORT/api/v1`` (what ``FLAGSMITH_URL`` holds for
``https://api.flagsmith.com/api/v1``). ``credentials``: ``FLAGSMITH_URL``,
``FLAGSMITH_API_KEY`` (an admin master API key of the organisation ``Acme``),
``FLAGSMITH_ORGANISATION`` and ``FLAGSMITH_VIEWER_KEY`` (a non-admin key). The organisation's
owner is ``owner@acme.io`` (ADMIN). State lives in ``<data_dir>/flagsmith.sqlite3`` (a restart
resumes it, keys included) or in a temporary directory removed by ``stop()``.

``bug_placeholder=True`` (or ``RECONCILER_FLAGSMITH_BUG_PLACEHOLDER=1``) starts with the
placeholder bug of PR #7622 on: Azure DevOps stores ``"write-only"`` when a client sends it
back, as GitLab on main always does.
"""

from __future__ import annotations

import os
import secrets
import uuid
from pathlib import Path

from reconciler.sandbox.common.server import StoredSandbox
from reconciler.sandbox.flagsmith import integrations, org, projects
from reconciler.sandbox.flagsmith.ado import FakeAdo
from reconciler.sandbox.flagsmith.api import PREFIX, Router, Runtime, build_app, key_digest
from reconciler.sandbox.flagsmith.control import add_user, make_control
from reconciler.sandbox.flagsmith.store import Store, now

OWNER = "owner@acme.io"
ORGANISATION = "Acme"
ROUTER = Router([*org.ROUTES, *projects.ROUTES, *integrations.ROUTES])


class FlagsmithSandbox(StoredSandbox[Store]):
    """A Flagsmith sandbox (serving once started); see the module docstring."""

    def __init__(
        self,
        port: int = 0,
        data_dir: Path | None = None,
        host: str = "127.0.0.1",
        bug_placeholder: bool | None = None,
    ) -> None:
        if bug_placeholder is None:
            bug_placeholder = os.environ.get("RECONCILER_FLAGSMITH_BUG_PLACEHOLDER") == "1"
        self.bug_placeholder = bug_placeholder  # before the store: _seed() reads it
        super().__init__(port, host, "flagsmith", data_dir, Store)
        self.runtime = Runtime(self.store, root=self.root)
        self.ado = FakeAdo()
        control = make_control(self.runtime, self.ado, self._seed, self._creds)
        self.serve(build_app(self.runtime, ROUTER, control, self.ado))

    def _seed(self) -> None:
        """Organisation ``Acme`` with its owner (ADMIN), an admin and a non-admin API key."""
        store = self.store
        store.reset()
        store.settings["bug_placeholder"] = self.bug_placeholder
        acme = store.insert("organisations", {"name": ORGANISATION, "uuid": str(uuid.uuid4())})
        add_user(store, acme["id"], OWNER, "ADMIN")
        keys = {}
        for name, admin in (("reconciler", True), ("viewer", False)):
            key = f"{secrets.token_hex(4)}.{secrets.token_urlsafe(24)}"
            store.insert(
                "keys",
                {"organisation": acme["id"], "name": name, "is_admin": admin}
                | {"hash": key_digest(key), "created": now(), "revoked": False},
            )
            keys[name] = key
        store.data["sandbox"] = keys
        store.save()

    def _creds(self) -> dict[str, str]:
        own = self.store.data["sandbox"]
        return {
            "FLAGSMITH_URL": self.url,
            "FLAGSMITH_API_KEY": own["reconciler"],
            "FLAGSMITH_ORGANISATION": ORGANISATION,
            "FLAGSMITH_VIEWER_KEY": own["viewer"],
        }

    @property
    def url(self) -> str:
        return f"{self.root}{PREFIX}"
