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

from reconciler.sandbox.common.store import Row as Row
from reconciler.sandbox.common.store import SerialTables
from reconciler.sandbox.common.store import now as now

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


class Store(SerialTables):
    """The sandbox's data (see the module docstring)."""

    def reset(self) -> None:
        self.data = {name: {} for name in TABLES}
        self.data["settings"] = {"bug_placeholder": False, "serial": {}}
        self.data["ado"] = {}

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
