"""The fake CommCare HQ and ConnectID behind the automation API.

HQ (``settings["hq"]``): the HQ server URLs Connect stores (``HQServer.url``; a request's
``hq_server_url`` must match one exactly), the API keys HQ accepts (SHA-256) and the apps per
domain, each with its learn modules or deliver units. ``down`` makes the app download fail
(502), as an HQ outage does. Creating an opportunity:

1. resolves each app's ``HQApiKey`` (``get_or_create(user, hq_server, api_key)``): a key
   another user registered first is 400 ``This API key is already registered to another
   user.``;
2. lists the domain's apps with the key: a key HQ refuses is 400 ``Failed to fetch apps from
   CommCare HQ.``; an unknown app id is 400 ``App '<id>' not found in domain '<domain>'.``;
3. ``get_or_create``s the ``CommCareApp`` by (app id, domain, organisation, HQ server), so its
   deliver units are shared by every opportunity using the same app, and syncs its learn
   modules and deliver units from HQ.

Every check runs before anything is stored (the real create is one transaction).
ConnectID (``settings["connectid"]``): the phone numbers with a ConnectID account.
"""

from __future__ import annotations

import hashlib
from typing import Any

from reconciler.sandbox.connect import fields as f
from reconciler.sandbox.connect.store import Row, Store, now
from reconciler.sandbox.connect.wire import ApiError, invalid


def digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def app_input(store: Store, body: dict[str, Any], key: str, *, learn: bool) -> dict[str, Any]:
    """``CommCareAppInputSerializer`` (``LearnAppInputSerializer`` for the learn app)."""
    data = body.get(key)
    if not isinstance(data, dict):
        raise ApiError(400, {key: [f.REQUIRED if data is None else "Invalid data."]})
    servers = store.settings["hq"]["servers"]
    out: dict[str, Any] = {
        "hq_server_url": f.slug_of(data, "hq_server_url", "url", servers, nest=key),
        "api_key": f.text(data, "api_key", max_length=50, nest=key),
        "cc_domain": f.text(data, "cc_domain", nest=key),
        "cc_app_id": f.text(data, "cc_app_id", max_length=50, nest=key),
    }
    if learn:
        out["description"] = f.text(data, "description", max_length=10_000, nest=key)
        out["passing_score"] = f.integer(data, "passing_score", minimum=0, maximum=100, nest=key)
    return out


def _hq_app(store: Store, app: dict[str, Any]) -> dict[str, Any]:
    fake = store.settings["hq"]
    if digest(app["api_key"]) not in fake["keys"]:
        raise invalid("Failed to fetch apps from CommCare HQ.")
    found = (fake["apps"].get(app["cc_domain"]) or {}).get(app["cc_app_id"])
    if found is None:
        raise invalid(f"App '{app['cc_app_id']}' not found in domain '{app['cc_domain']}'.")
    result: dict[str, Any] = found
    return result


def resolve_apps(
    store: Store, user: Row, org: str, learn: dict[str, Any], deliver: dict[str, Any]
) -> tuple[Row, Row]:
    """Steps 1-3 of the module docstring; returns the learn and deliver ``CommCareApp``s."""
    for app in (learn, deliver):
        for row in store.rows("hq_keys", hash=digest(app["api_key"])):
            if row["hq_server"] == app["hq_server_url"] and row["user"] != user["id"]:
                raise ApiError(
                    400, {"api_key": ["This API key is already registered to another user."]}
                )
    hq_learn, hq_deliver = _hq_app(store, learn), _hq_app(store, deliver)
    if store.settings["hq"].get("down"):
        raise ApiError(
            502, {"non_field_errors": ["Failed to fetch app metadata from CommCare HQ."]}
        )
    for app in (learn, deliver):
        keys = store.rows("hq_keys", hash=digest(app["api_key"]), user=user["id"])
        if not keys:
            keys = [
                store.insert(
                    "hq_keys",
                    {"hash": digest(app["api_key"]), "user": user["id"]}
                    | {"hq_server": app["hq_server_url"]},
                )
            ]
        app["key_id"] = keys[0]["id"]
    return (
        _app_record(store, org, learn, hq_learn, learn=True),
        _app_record(store, org, deliver, hq_deliver, learn=False),
    )


def _app_record(
    store: Store, org: str, app: dict[str, Any], hq_app: dict[str, Any], *, learn: bool
) -> Row:
    match = {"cc_app_id": app["cc_app_id"], "cc_domain": app["cc_domain"]}
    found = store.rows("apps", **match, organization=org, hq_server=app["hq_server_url"])
    if found:
        record = found[0]
    else:
        record = store.insert(
            "apps",
            {**match, "organization": org, "hq_server": app["hq_server_url"]}
            | {"name": hq_app["name"], "description": app.get("description", "")}
            | {"passing_score": app.get("passing_score"), "date_created": now()},
        )
    table = "learn_modules" if learn else "deliver_units"
    have = {r["slug"] for r in store.rows(table, app=record["id"])}
    for item in hq_app.get("modules" if learn else "deliver_units", []):
        if item["slug"] not in have:
            extra = {"payment_unit": None, "optional": False} if not learn else {}
            store.insert(table, {**item, "app": record["id"], **extra})
    return record


def app_answer(store: Store, app: Row, *, learn: bool) -> dict[str, Any]:
    """The create answer's ``learn_app`` / ``deliver_app``."""
    out = {k: app[k] for k in ("cc_domain", "cc_app_id", "name")}
    if learn:
        out["learn_modules"] = [
            {k: m.get(k) for k in ("id", "slug", "name", "description", "time_estimate")}
            for m in store.rows("learn_modules", app=app["id"])
        ]
    else:
        out["deliver_units"] = [
            {k: d[k] for k in ("id", "slug", "name")}
            for d in store.rows("deliver_units", app=app["id"])
        ]
    return out


def export_app(store: Store, app: Row) -> dict[str, Any]:
    """``CommCareAppSerializer`` (the export's ``learn_app`` / ``deliver_app``)."""
    base = f"https://www.commcarehq.org/a/{app['cc_domain']}/apps/download/{app['cc_app_id']}"
    return {
        "id": app["id"],
        "cc_domain": app["cc_domain"],
        "cc_app_id": app["cc_app_id"],
        "name": app["name"],
        "description": app["description"],
        "organization": app["organization"],
        "learn_modules": [
            {k: m.get(k) for k in ("slug", "name", "description", "time_estimate")}
            for m in store.rows("learn_modules", app=app["id"])
        ],
        "passing_score": app["passing_score"],
        "install_url": f"{base}/media_profile.ccpe",
    }


def connect_user(store: Store, phone: str) -> Row:
    """The Connect user of a ConnectID account (made at its first invite)."""
    found = store.rows("users", phone=phone)
    if found:
        return found[0]
    name = "user" + phone.lstrip("+")[-6:]
    return store.insert(
        "users", {"username": name, "name": f"Worker {phone[-4:]}", "phone": phone, "email": ""}
    )
