"""The Messages sandbox's data: tables of JSON rows in memory, kept in one SQLite file.

Rows carry what the Messages server stores (``core/models.py``): ``domains`` (MailDomain:
``name``, ``oidc_autojoin``, ``identity_sync``, ``custom_attributes``), ``domain_accesses``
(MailDomainAccess, role ``admin``), ``users`` (``email``, ``full_name``, ``custom_attributes``,
``is_superuser``, ``password`` ``?`` for a stub), ``mailboxes`` (``local_part``, ``domain_id``,
``is_identity``, ``contact_name``), ``mailbox_accesses`` (role ``viewer|editor|sender|admin``),
``channels`` (api_key channels: ``scope_level``, ``settings.scopes``/``expires_at``,
``api_key_hashes`` = SHA-256 hex, never the key), ``tokens`` (admin bearer token -> user) and
``settings`` (feature flags, entitlements backend and DeployCenter's answers, identity provider).

Callers hold ``lock`` around every read-modify-write and call ``save()`` after a change; a
background thread writes the changed tables within ``WRITE_DELAY`` seconds (bursts coalesce).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from reconciler.sandbox.common.store import JsonTables
from reconciler.sandbox.common.store import Row as Row
from reconciler.sandbox.common.store import now as now

WRITE_DELAY = 0.05
TABLES = (
    "domains",
    "domain_accesses",
    "users",
    "mailboxes",
    "mailbox_accesses",
    "channels",
    "tokens",
)
DEFAULT_SETTINGS: dict[str, Any] = {
    "FEATURE_MAILDOMAIN_CREATE": True,
    "FEATURE_MAILDOMAIN_MANAGE_ACCESSES": True,
    "FEATURE_MAILDOMAIN_MANAGE_TOTP": True,
    "IDENTITY_PROVIDER": "keycloak",
    "entitlements": "local",  # or "deploycenter"
    "deploycenter": {},  # e-mail -> domain names DeployCenter says the user administers
}


def new_id() -> str:
    return str(uuid.uuid4())


class Store(JsonTables):
    """The sandbox's data (see the module docstring)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self._dirty = threading.Event()
        self._closed = False
        threading.Thread(target=self._write_behind, daemon=True).start()

    def reset(self) -> None:
        """Empty tables and default settings."""
        self.data = {name: {} for name in TABLES}
        self.data["settings"] = json.loads(json.dumps(DEFAULT_SETTINGS))

    def save(self) -> None:
        """Schedule a write: a background thread writes within ``WRITE_DELAY`` seconds,
        coalescing bursts (``flush`` writes at once; ``close`` flushes)."""
        self._dirty.set()

    def flush(self) -> None:
        """Write the tables that changed since the last write, in one transaction."""
        with self.lock:
            if self._closed:
                return
            self._dirty.clear()
            self.write(forget=True)

    def _write_behind(self) -> None:
        """A large data set (slow to serialise) is written less often, so writing never takes
        more than about a tenth of the time."""
        delay = WRITE_DELAY
        while not self._closed:
            if self._dirty.wait(timeout=1.0):
                time.sleep(delay)
                started = time.monotonic()
                self.flush()
                delay = max(WRITE_DELAY, 10 * (time.monotonic() - started))

    def close(self) -> None:
        self.flush()
        with self.lock:
            self._closed = True
            self._db.close()

    # -- lookups ------------------------------------------------------------------------------

    def insert(self, table: str, row: Row) -> Row:
        stamp = now()
        full = {"id": new_id(), "created_at": stamp, "updated_at": stamp, **row}
        self.table(table)[full["id"]] = full
        return full

    def domain_named(self, name: str) -> Row | None:
        return next((d for d in self.table("domains").values() if d["name"] == name), None)

    def user_by_email(self, email: str) -> Row | None:
        wanted = email.strip().lower()
        return next((u for u in self.table("users").values() if u["email"] == wanted), None)

    def user_for(self, ref: str) -> Row:
        """A user by id or e-mail; an unknown e-mail gets a password-less stub user (claimed at
        the first OIDC login), as the server's ``UserAccessWriteField`` does."""
        users = self.table("users")
        if ref in users:
            return users[ref]
        found = self.user_by_email(ref)
        if found is not None:
            return found
        return self.insert(
            "users",
            {
                "email": ref.strip().lower(),
                "full_name": None,
                "custom_attributes": {},
                "is_superuser": False,
                "password": "?",
            },
        )

    def domain_admins(self, domain_id: str) -> list[Row]:
        rows = [a for a in self.table("domain_accesses").values() if a["domain_id"] == domain_id]
        return sorted(rows, key=lambda a: a["created_at"], reverse=True)

    def mailboxes_of(self, domain_id: str) -> list[Row]:
        rows = [m for m in self.table("mailboxes").values() if m["domain_id"] == domain_id]
        return sorted(rows, key=lambda m: (m["created_at"], m["id"]))

    def mailbox_accesses(self, mailbox_id: str) -> list[Row]:
        rows = [a for a in self.table("mailbox_accesses").values() if a["mailbox_id"] == mailbox_id]
        return sorted(rows, key=lambda a: a["created_at"], reverse=True)

    def delete_mailbox(self, mailbox_id: str) -> None:
        self.table("mailboxes").pop(mailbox_id, None)
        accesses = self.table("mailbox_accesses")
        for aid in [a for a, row in accesses.items() if row["mailbox_id"] == mailbox_id]:
            del accesses[aid]

    def login_sync(self, email: str) -> dict[str, Any]:
        """What an OIDC login does to the user's domain admin rights (``_sync_entitlements``):
        with the ``local`` backend nothing (``can_admin_maildomains`` is None); with
        ``deploycenter`` the user's admin accesses are made exactly the entitled domains that
        exist (unknown names skipped)."""
        user = self.user_for(email)
        user["password"] = user.get("password") if user.get("password") != "?" else "!"
        if self.settings["entitlements"] != "deploycenter":
            return {"email": user["email"], "synced": False}
        entitled = self.settings["deploycenter"].get(user["email"], [])
        wanted = {d["id"] for d in self.table("domains").values() if d["name"] in entitled}
        accesses = self.table("domain_accesses")
        held = {a["domain_id"]: i for i, a in accesses.items() if a["user_id"] == user["id"]}
        removed = [accesses.pop(held[d])["domain_id"] for d in sorted(set(held) - wanted)]
        for domain_id in sorted(wanted - set(held)):
            self.insert("domain_accesses", {"domain_id": domain_id, "user_id": user["id"]})
        names = self.table("domains")
        return {
            "email": user["email"],
            "synced": True,
            "admin_of": sorted(names[d]["name"] for d in wanted),
            "removed": sorted(names[d]["name"] for d in removed if d in names),
        }
