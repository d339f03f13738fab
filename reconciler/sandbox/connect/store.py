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

from typing import Any

from reconciler.sandbox.common.store import Row as Row
from reconciler.sandbox.common.store import SerialTables
from reconciler.sandbox.common.store import now as now

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


class Store(SerialTables):
    """The sandbox's data (see the module docstring)."""

    def reset(self) -> None:
        self.data = {name: {} for name in TABLES}
        self.data["settings"] = {"serial": {}, "hq": {}, "connectid": [], "tasks": []}

    def by_uuid(self, table: str, field: str, value: str) -> Row | None:
        return next((r for r in self.table(table).values() if r.get(field) == value), None)

    # -- look-ups ---------------------------------------------------------------------------

    def is_admin(self, user_id: int, org_slug: str) -> bool:
        """``UserOrganizationMembership`` role ADMIN (organization/decorators.py)."""
        return bool(self.rows("memberships", organization=org_slug, user=user_id, role="admin"))

    def is_member(self, user_id: int, org_slug: str) -> bool:
        return bool(self.rows("memberships", organization=org_slug, user=user_id))

    def org(self, slug: Any) -> Row | None:
        return next((o for o in self.table("organizations").values() if o["slug"] == slug), None)
