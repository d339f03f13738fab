"""The sandboxes' data: tables of JSON rows held in memory and kept in one SQLite file, one
database row per table (``state(name, body)``), written when it changed.

``data`` maps a table name (or ``settings``) to its JSON value; ``empty`` is true until a
sandbox has seeded ``settings``. Callers hold ``lock`` around every read-modify-write and call
``save()`` after a change. ``SerialTables`` adds integer row ids per table, as Django's
serial keys, counted in ``settings["serial"]``.
"""

from __future__ import annotations

import datetime
import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

Row = dict[str, Any]


def now() -> str:
    """The current instant as DRF renders it (ISO 8601 with ``Z``)."""
    text = datetime.datetime.now(datetime.UTC).isoformat()
    return text.replace("+00:00", "Z")


class JsonTables:
    """Tables of JSON rows in one SQLite file (see the module docstring)."""

    def __init__(self, path: Path) -> None:
        self.lock = threading.RLock()
        self.path = path
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("CREATE TABLE IF NOT EXISTS state (name TEXT PRIMARY KEY, body TEXT)")
        rows = list(self._db.execute("SELECT name, body FROM state"))
        self.data: dict[str, Any] = {name: json.loads(body) for name, body in rows}
        self._written: dict[str, str] = dict(rows)

    @property
    def empty(self) -> bool:
        return "settings" not in self.data

    def table(self, name: str) -> dict[str, Row]:
        rows: dict[str, Row] = self.data.setdefault(name, {})
        return rows

    @property
    def settings(self) -> dict[str, Any]:
        settings: dict[str, Any] = self.data["settings"]
        return settings

    def write(self, forget: bool = False) -> None:
        """Write the tables that changed since the last write, in one transaction; with
        ``forget``, also delete the tables no longer in ``data``. Call with ``lock`` held."""
        bodies = {name: json.dumps(value) for name, value in self.data.items()}
        changed = [(n, b) for n, b in bodies.items() if self._written.get(n) != b]
        gone = [(n,) for n in self._written if n not in bodies] if forget else []
        if changed or gone:
            self._db.execute("BEGIN")
            if gone:
                self._db.executemany("DELETE FROM state WHERE name = ?", gone)
            self._db.executemany("INSERT OR REPLACE INTO state VALUES (?, ?)", changed)
            self._db.execute("COMMIT")
        self._written = bodies

    def save(self) -> None:
        """Write what changed now (``write``)."""
        with self.lock:
            self.write()

    def close(self) -> None:
        self.save()
        with self.lock:
            self._db.close()


class SerialTables(JsonTables):
    """``JsonTables`` whose rows carry integer ids per table (see the module docstring)."""

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
