"""Provisioning views (service-to-service, global api_key channel) and ``/config/``.

``POST /provisioning/maildomains/`` (scope ``maildomains:create``): body ``domains`` (a list or a
comma-separated text; empty is 400 ``At least one domain is required.``), ``custom_attributes``
(object, default ``{}``), ``oidc_autojoin`` (default **true**), ``identity_sync`` (default
false). One loop, no transaction: each name is canonicalised (case-fold, IDN), then
get-or-create with the three fields as defaults; an existing domain gets each field that
differs **overwritten** (custom attributes replaced wholesale; an omitted flag resets it to its
default). Always 200 ``{"created": [...], "existing": [...], "errors": [{"domain", "error"}]}``:
``existing`` lists every pre-existing domain whether or not it changed; ``errors`` carry the
input name and the model validator's text.

``GET /provisioning/maildomains/dns/`` (scope ``maildomains:read``): every domain, ordered by
``created_at, id``, as ``{"id", "name", "expected_dns_records"}`` in the page envelope;
``page_size`` up to 1,000.

``GET /provisioning/mailboxes/?email=|?user_email=`` (scope ``mailboxes:read``): mailboxes with
their ``users`` and roles.
"""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse, Response

from reconciler.sandbox.messages.store import Row, Store, now
from reconciler.sandbox.messages.wire import (
    ApiError,
    canonical_domain,
    denied,
    domain_name_error,
    field_error,
    page,
)

CONFIG_FLAGS = (
    "FEATURE_MAILDOMAIN_CREATE",
    "FEATURE_MAILDOMAIN_MANAGE_ACCESSES",
    "FEATURE_MAILDOMAIN_MANAGE_TOTP",
)


def config(call: Any) -> Response:
    """``GET /config/``: public settings, the feature flags among them."""
    settings = call.store.settings
    body: dict[str, object] = {name: bool(settings[name]) for name in CONFIG_FLAGS}
    body |= {"ENVIRONMENT": "sandbox", "LANGUAGE_CODE": "en-us"}
    return JSONResponse(body)


def _scoped(call: Any, scope: str) -> None:
    """``IsGlobalChannelMixin`` + ``channel_scope(scope)``: 403 otherwise."""
    channel = call.channel
    if channel.get("scope_level") != "global":
        raise denied()
    if scope not in (channel.get("settings") or {}).get("scopes", []):
        raise denied()


def _bool(body: dict[str, Any], name: str, default: bool) -> bool:
    value = body.get(name, default)
    if isinstance(value, bool):
        return value
    if value in ("true", "True", "1", 1):
        return True
    if value in ("false", "False", "0", 0):
        return False
    raise field_error(name, "Must be a valid boolean.")


def _domains(body: Any) -> list[str]:
    raw = body.get("domains") if isinstance(body, dict) else None
    if raw is None:
        raise field_error("domains", "This field is required.")
    if isinstance(raw, str):
        names = [x.strip() for x in raw.split(",") if x.strip()]
    elif isinstance(raw, list) and all(isinstance(x, str) for x in raw):
        names = [x.strip() for x in raw if x.strip()]
    else:
        raise field_error("domains", "Expected a list of items or a comma-separated string.")
    if not names:
        raise field_error("domains", "At least one domain is required.")
    return names


def provision(call: Any) -> Response:
    _scoped(call, "maildomains:create")
    body = call.body if isinstance(call.body, dict) else {}
    names = _domains(call.body)
    attributes = body.get("custom_attributes", {})
    if not isinstance(attributes, dict):
        raise field_error("custom_attributes", "Must be a JSON object.")
    autojoin = _bool(body, "oidc_autojoin", True)
    identity_sync = _bool(body, "identity_sync", False)
    store: Store = call.store
    created: list[str] = []
    existing: list[str] = []
    errors: list[dict[str, str]] = []
    fields = {
        "custom_attributes": attributes,
        "oidc_autojoin": autojoin,
        "identity_sync": identity_sync,
    }
    for raw in names:
        name = canonical_domain(raw)
        problem = domain_name_error(name)
        if problem is not None:
            errors.append({"domain": raw, "error": problem})
            continue
        row = store.domain_named(name)
        if row is None and name in store.settings.get("refuse", {}):
            # an IntegrityError on the server (e.g. a concurrent insert): the generic message
            errors.append({"domain": raw, "error": "Failed to provision domain."})
            continue
        if row is None:
            store.insert("domains", {"name": name, "alias_of": None, **fields})
            created.append(name)
            continue
        if any(row[k] != v for k, v in fields.items()):
            row.update(fields, updated_at=now())
        existing.append(name)
    return JSONResponse({"created": created, "existing": existing, "errors": errors})


def dns_records(store: Store, domain: Row) -> list[dict[str, str]]:
    """MX and SPF for the sandbox's technical domain (no DKIM key in the sandbox)."""
    return [
        {"target": "", "type": "mx", "value": "10 mx.messages.sandbox."},
        {"target": "", "type": "txt", "value": "v=spf1 include:_spf.messages.sandbox -all"},
    ]


def dns_list(call: Any) -> Response:
    _scoped(call, "maildomains:read")
    store: Store = call.store
    rows = sorted(store.table("domains").values(), key=lambda d: (d["created_at"], d["id"]))
    items = [
        {"id": d["id"], "name": d["name"], "expected_dns_records": dns_records(store, d)}
        for d in rows
    ]
    return JSONResponse(page(items, call.params, call.url, max_size=1000))


def mailboxes(call: Any) -> Response:
    _scoped(call, "mailboxes:read")
    store: Store = call.store
    user_email, email = call.params.get("user_email"), call.params.get("email")
    users = store.table("users")
    boxes = store.table("mailboxes")
    domains = store.table("domains")

    def light(box: Row) -> dict[str, Any]:
        domain = domains[box["domain_id"]]
        return {
            "id": box["id"],
            "email": f"{box['local_part']}@{domain['name']}",
            "name": box.get("contact_name"),
            "users": [
                {"email": users[a["user_id"]]["email"], "role": a["role"]}
                for a in store.mailbox_accesses(box["id"])
            ],
        }

    if user_email:
        user = store.user_by_email(user_email)
        accesses = [a for a in store.table("mailbox_accesses").values() if user is not None]
        found = [
            light(boxes[a["mailbox_id"]]) | {"role": a["role"]}
            for a in accesses
            if user is not None and a["user_id"] == user["id"]
        ]
        return JSONResponse({"results": found})
    if email:
        local, _, domain_name = email.rpartition("@")
        domain = store.domain_named(domain_name)
        found = [
            light(b)
            for b in (store.mailboxes_of(domain["id"]) if domain else [])
            if b["local_part"] == local
        ]
        return JSONResponse({"results": found})
    raise ApiError(400, "Provide either 'user_email' or 'email' query parameter.")
