"""The Flagsmith sandbox's data: tables of JSON rows kept in one SQLite file.

Tables (what the real server stores, ``api/``): ``organisations``, ``users`` (``FFAdminUser``),
``memberships`` (``UserOrganisation``: user, organisation, role ``ADMIN``/``USER``), ``invites``,
``groups`` (``UserPermissionGroup`` with ``users`` and ``admins`` id lists), ``projects``,
``environments`` (``api_key``), ``project_permissions`` / ``environment_permissions`` (a user's
or a group's grant: ``admin``, ``permissions`` keys), ``integrations`` (project-scoped
configurations of one ``kind``, soft-deleted with ``deleted_at``), ``github`` and
``repositories``, ``keys`` (master API keys: organisation, ``is_admin``, SHA-256 of the key).
Row ids are integers, per table, as Django's serial keys.

Callers hold ``lock`` around every read-modify-write and call ``save()`` after a change.
"""

from __future__ import annotations

import datetime
import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

Row = dict[str, Any]
TABLES = (
    "organisations",
    "users",
    "memberships",
    "invites",
    "groups",
    "projects",
    "environments",
    "project_permissions",
    "environment_permissions",
    "integrations",
    "github",
    "repositories",
    "keys",
)


def now() -> str:
    """The current instant as DRF renders it (ISO 8601 with ``Z``)."""
    text = datetime.datetime.now(datetime.UTC).isoformat()
    return text.replace("+00:00", "Z")


class Store:
    """The sandbox's data (see the module docstring)."""

    def __init__(self, path: Path) -> None:
        self.lock = threading.RLock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("CREATE TABLE IF NOT EXISTS state (name TEXT PRIMARY KEY, body TEXT)")
        rows = list(self._db.execute("SELECT name, body FROM state"))
        self.data: dict[str, Any] = {name: json.loads(body) for name, body in rows}
        self._written: dict[str, str] = dict(rows)

    @property
    def empty(self) -> bool:
        return "settings" not in self.data

    def reset(self) -> None:
        self.data = {name: {} for name in TABLES}
        self.data["settings"] = {"bug_placeholder": False, "serial": {}}
        self.data["ado"] = {}

    def table(self, name: str) -> dict[str, Row]:
        rows: dict[str, Row] = self.data.setdefault(name, {})
        return rows

    @property
    def settings(self) -> dict[str, Any]:
        settings: dict[str, Any] = self.data["settings"]
        return settings

    def insert(self, table: str, row: Row) -> Row:
        serial = self.settings.setdefault("serial", {})
        serial[table] = int(serial.get(table, 0)) + 1
        full = {"id": serial[table], **row}
        self.table(table)[str(full["id"])] = full
        return full

    def get(self, table: str, row_id: Any) -> Row | None:
        return self.table(table).get(str(row_id))

    def rows(self, table: str, **match: Any) -> list[Row]:
        """Rows whose fields equal ``match``, in id order."""
        out = [
            r for r in self.table(table).values() if all(r.get(k) == v for k, v in match.items())
        ]
        return sorted(out, key=lambda r: int(r["id"]))

    def delete(self, table: str, row_id: Any) -> None:
        self.table(table).pop(str(row_id), None)

    def save(self) -> None:
        """Write the tables that changed since the last write, in one transaction."""
        with self.lock:
            bodies = {name: json.dumps(value) for name, value in self.data.items()}
            changed = [(n, b) for n, b in bodies.items() if self._written.get(n) != b]
            if changed:
                self._db.execute("BEGIN")
                self._db.executemany("INSERT OR REPLACE INTO state VALUES (?, ?)", changed)
                self._db.execute("COMMIT")
            self._written = bodies

    def close(self) -> None:
        self.save()
        with self.lock:
            self._db.close()

    # -- lookups ------------------------------------------------------------------------------

    def user_by_email(self, email: str) -> Row | None:
        wanted = email.strip().lower()
        return next((u for u in self.table("users").values() if u["email"] == wanted), None)

    def membership(self, org_id: int, user_id: int) -> Row | None:
        found = self.rows("memberships", organisation=org_id, user=user_id)
        return found[0] if found else None

    def delete_project(self, project_id: int) -> None:
        """A project and what cascades with it (environments, grants, integrations, links)."""
        for env in self.rows("environments", project=project_id):
            self.delete_environment(env["id"])
        for table in ("project_permissions", "integrations", "repositories"):
            for row in self.rows(table, project=project_id):
                self.delete(table, row["id"])
        self.delete("projects", project_id)

    def delete_environment(self, env_id: int) -> None:
        for row in self.rows("environment_permissions", environment=env_id):
            self.delete("environment_permissions", row["id"])
        self.delete("environments", env_id)
