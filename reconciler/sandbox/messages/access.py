"""Who may use an admin view: the URL's domain, superuser or domain admin, user shapes."""

from __future__ import annotations

from typing import Any

from reconciler.sandbox.messages.store import Row, Store
from reconciler.sandbox.messages.wire import denied, not_found


def domain_of_call(call: Any, *, admin_of: bool = True) -> Row:
    """The domain of the URL: 404 when absent, 403 unless superuser or its admin."""
    store: Store = call.store
    row = store.table("domains").get(call.path.get("domain", ""))
    if row is None:
        raise not_found()
    if admin_of and not may_admin(store, call.user, row):
        raise denied()
    return row


def may_admin(store: Store, user: Row, domain: Row) -> bool:
    return bool(user.get("is_superuser")) or any(
        a["user_id"] == user["id"] for a in store.domain_admins(domain["id"])
    )


def user_view(user: Row) -> dict[str, Any]:
    return {
        "id": user["id"],
        "email": user["email"],
        "full_name": user.get("full_name"),
        "custom_attributes": user.get("custom_attributes") or {},
    }
