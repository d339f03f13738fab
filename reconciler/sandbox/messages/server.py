"""``MessagesSandbox``: the La Suite Messages sandbox as an ``AppServer``.

``url`` is the API root ``http://127.0.0.1:PORT/api/v1.0/`` (what ``MESSAGES_URL`` holds on a
real deployment). ``credentials``: ``MESSAGES_URL``, ``MESSAGES_CHANNEL_ID`` and
``MESSAGES_API_KEY`` (a global api_key channel with ``maildomains:create``,
``maildomains:read`` and ``mailboxes:read``) and ``MESSAGES_ADMIN_TOKEN`` (the bearer token of
a superuser, for the admin API). State lives in ``<data_dir>/messages.sqlite3`` (a restart
resumes it; the key is kept there so the printed credentials stay valid, its hash in the
channel) or in a temporary directory removed by ``stop()``.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from reconciler.sandbox.common.server import StoredSandbox
from reconciler.sandbox.messages.api import PREFIX, Runtime, build_app
from reconciler.sandbox.messages.control import make_control, new_channel
from reconciler.sandbox.messages.store import Store

SUPERUSER = "admin@messages.sandbox"
SCOPES = ["maildomains:create", "maildomains:read", "mailboxes:read"]


class MessagesSandbox(StoredSandbox[Store]):
    """A Messages sandbox (serving once started); see the module docstring."""

    def __init__(
        self, port: int = 0, data_dir: Path | None = None, host: str = "127.0.0.1"
    ) -> None:
        super().__init__(port, host, "messages", data_dir, Store)
        self.runtime = Runtime(self.store)
        self.serve(build_app(self.runtime, make_control(self.runtime, self._seed, self._creds)))

    def _seed(self) -> None:
        """An empty server: one superuser with a bearer token, one global api_key channel."""
        store = self.store
        store.reset()
        admin = store.insert(
            "users",
            {
                "email": SUPERUSER,
                "full_name": "Sandbox Admin",
                "custom_attributes": {},
                "is_superuser": True,
                "password": "!",
            },
        )
        token = secrets.token_urlsafe(24)
        store.table("tokens")[token] = {"user_id": admin["id"]}
        channel = new_channel(store, list(SCOPES))
        store.data["sandbox"] = {"channel_id": channel["id"], "api_key": channel["api_key"]}
        store.data["sandbox"]["admin_token"] = token
        store.save()

    def _creds(self) -> dict[str, str]:
        own = self.store.data["sandbox"]
        return {
            "MESSAGES_URL": self.url,
            "MESSAGES_CHANNEL_ID": own["channel_id"],
            "MESSAGES_API_KEY": own["api_key"],
            "MESSAGES_ADMIN_TOKEN": own["admin_token"],
        }

    @property
    def url(self) -> str:
        return f"{self.root}{PREFIX}/"
