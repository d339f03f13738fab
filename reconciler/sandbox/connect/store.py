"""The Connect sandbox's data: tables of JSON rows kept in one SQLite file.

Tables (the real server's models): ``organizations`` (slug, name, ``program_manager``),
``users``, ``memberships`` (organisation slug, user, role ``admin``/``member``), ``tokens``
(OAuth access tokens: SHA-256, user, scopes, expiry), ``programs``, ``applications``
(``ProgramApplication``), ``opportunities``, ``apps`` (``CommCareApp``, one per organisation,
app id, domain and HQ server: shared by opportunities), ``learn_modules``, ``deliver_units``
(``payment_unit`` once assigned), ``payment_units``, ``hq_keys`` (``HQApiKey``: bound to the
first user who sends it), ``invites`` (``UserInvite``: phone, status), ``accesses``
(``OpportunityAccess``: what the export's ``user_data`` lists). Row ids are integers per table,
as Django's serial keys; objects the automation API creates also carry a UUID.

``settings`` holds the fake HQ (``hq``: server URL, valid keys by SHA-256, apps by domain), the
numbers ConnectID knows (``connectid``) and the queue of invite tasks (``tasks``) that stands
for Celery. Callers hold ``lock`` around every read-modify-write and call ``save()`` after.
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
    "organizations",
    "users",
    "memberships",
    "tokens",
    "programs",
    "applications",
    "opportunities",
    "apps",
    "learn_modules",
    "deliver_units",
    "payment_units",
    "hq_keys",
    "invites",
    "accesses",
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
        self.data["settings"] = {"serial": {}, "hq": {}, "connectid": [], "tasks": []}

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

    def by_uuid(self, table: str, field: str, value: str) -> Row | None:
        return next((r for r in self.table(table).values() if r.get(field) == value), None)

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

    # -- look-ups ---------------------------------------------------------------------------

    def is_admin(self, user_id: int, org_slug: str) -> bool:
        """``UserOrganizationMembership`` role ADMIN (organization/decorators.py)."""
        return bool(self.rows("memberships", organization=org_slug, user=user_id, role="admin"))

    def is_member(self, user_id: int, org_slug: str) -> bool:
        return bool(self.rows("memberships", organization=org_slug, user=user_id))

    def org(self, slug: Any) -> Row | None:
        return next((o for o in self.table("organizations").values() if o["slug"] == slug), None)
