"""Admin REST views (user-authenticated: superuser or domain admin), as the Messages server.

=========================================================  =====================================
``GET|POST /maildomains/``                                 list (page of 20, by name; superuser:
                                                           all, others: domains they administer)
                                                           / create (superuser, flag
                                                           ``FEATURE_MAILDOMAIN_CREATE``)
``GET|PATCH /maildomains/{id}/``                           one domain (DNS records filled) /
                                                           ``custom_settings`` (superuser only)
``GET|POST /maildomains/{id}/accesses/``                   admins, unpaginated, newest first /
                                                           grant (flag
                                                           ``FEATURE_MAILDOMAIN_MANAGE_ACCESSES``;
                                                           ``user`` is an id or an e-mail: an
                                                           unknown e-mail gets a stub user)
``GET|DELETE /maildomains/{id}/accesses/{access}/``        one admin / revoke (same flag); no
                                                           update (405)
``GET|POST /maildomains/{id}/mailboxes/``                  page of 20 / create (personal,
                                                           shared, redirect)
``GET|PATCH|DELETE /maildomains/{id}/mailboxes/{box}/``    one / display name and custom
                                                           attributes / delete
``PATCH …/mailboxes/{box}/reset-password/``                a new one-time password (Keycloak,
                                                           personal, identity sync)
``GET|POST /mailboxes/{box}/accesses/``                    page of 20 / grant (viewer, editor,
                                                           sender, admin)
``GET|PUT|PATCH|DELETE /mailboxes/{box}/accesses/{a}/``    one / change role / revoke
=========================================================  =====================================

Not readable anywhere: a domain's ``custom_attributes``, ``oidc_autojoin`` (``identity_sync`` is
in the list items of later versions only; this sandbox leaves it out too, as the provider must
not rely on it).
"""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse, Response

from reconciler.sandbox.messages import mailboxes as mb
from reconciler.sandbox.messages.access import domain_of_call, may_admin, user_view
from reconciler.sandbox.messages.store import Row, Store, now
from reconciler.sandbox.messages.wire import (
    ApiError,
    denied,
    domain_name_error,
    field_error,
    page,
)


def _domain_view(store: Store, user: Row, row: Row, detail: bool) -> dict[str, Any]:
    from reconciler.sandbox.messages.provisioning import dns_records

    may = may_admin(store, user, row)
    return {
        "id": row["id"],
        "name": row["name"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
        "expected_dns_records": dns_records(store, row) if detail else None,
        "mailbox_count": len(store.mailboxes_of(row["id"])),
        "abilities": {
            "get": may,
            "post": bool(user.get("is_superuser")),
            "put": bool(user.get("is_superuser")),
            "patch": bool(user.get("is_superuser")),
            "delete": False,
            "manage_accesses": may,
            "manage_mailboxes": may,
        },
    }


def list_domains(call: Any) -> Response:
    store: Store = call.store
    rows = sorted(store.table("domains").values(), key=lambda d: d["name"])
    rows = [d for d in rows if may_admin(store, call.user, d)]
    body = page(rows, call.params, call.url)
    body["results"] = [_domain_view(store, call.user, d, False) for d in body["results"]]
    return JSONResponse(body)


def get_domain(call: Any) -> Response:
    return JSONResponse(_domain_view(call.store, call.user, domain_of_call(call), True))


def create_domain(call: Any) -> Response:
    store: Store = call.store
    if not store.settings["FEATURE_MAILDOMAIN_CREATE"] or not call.user.get("is_superuser"):
        raise denied()
    body = call.body if isinstance(call.body, dict) else {}
    name = body.get("name")
    if not isinstance(name, str) or not name:
        raise field_error("name", "This field is required.")
    if domain_name_error(name):
        raise field_error("name", "Enter a valid value.")
    if store.domain_named(name):
        raise field_error("name", "Mail domain with this Name already exists.")
    row = store.insert(
        "domains",
        {
            "name": name,
            "alias_of": None,
            "oidc_autojoin": bool(body.get("oidc_autojoin", False)),
            "identity_sync": bool(body.get("identity_sync", False)),
            "custom_attributes": body.get("custom_attributes") or {},
        },
    )
    fields = ("id", "name", "created_at", "updated_at", "oidc_autojoin", "identity_sync")
    return JSONResponse({k: row[k] for k in fields} | {"custom_attributes": {}}, 201)


def update_domain(call: Any) -> Response:
    """``PATCH /maildomains/{id}/``: superuser only; only ``custom_settings`` is written (other
    fields, the name included, are ignored). A domain admin gets 403."""
    row = domain_of_call(call)
    if not call.user.get("is_superuser"):
        raise denied()
    body = call.body if isinstance(call.body, dict) else {}
    settings = body.get("custom_settings")
    if settings is not None:
        if not isinstance(settings, dict):
            raise field_error("custom_settings", "Must be a JSON object.")
        row["custom_settings"] = settings
        row["updated_at"] = now()
    return JSONResponse(_domain_view(call.store, call.user, row, True))


# -- domain admins -------------------------------------------------------------------------


def _access_view(store: Store, access: Row) -> dict[str, Any]:
    user = store.table("users")[access["user_id"]]
    return {
        "id": access["id"],
        "user": user_view(user),
        "role": "admin",
        "created_at": access["created_at"],
        "updated_at": access["updated_at"],
    }


def list_admins(call: Any) -> Response:
    domain = domain_of_call(call)
    store: Store = call.store
    return JSONResponse([_access_view(store, a) for a in store.domain_admins(domain["id"])])


def _manage_flag(store: Store) -> None:
    if not store.settings["FEATURE_MAILDOMAIN_MANAGE_ACCESSES"]:
        raise denied()


def add_admin(call: Any) -> Response:
    domain = domain_of_call(call)
    store: Store = call.store
    _manage_flag(store)
    body = call.body if isinstance(call.body, dict) else {}
    ref, role = body.get("user"), body.get("role", "admin")
    if not isinstance(ref, str) or not ref.strip():
        raise field_error("user", "This field is required.")
    if role not in ("admin", 1):
        raise field_error("role", f'"{role}" is not a valid choice.')
    if "@" not in ref and ref not in store.table("users"):
        raise field_error("user", "Invalid user.")
    user = store.user_for(ref)
    if any(a["user_id"] == user["id"] for a in store.domain_admins(domain["id"])):
        raise field_error("non_field_errors", "The fields maildomain, user must make a unique set.")
    access = store.insert("domain_accesses", {"domain_id": domain["id"], "user_id": user["id"]})
    fields = {k: access[k] for k in ("id", "created_at", "updated_at")}
    return JSONResponse(fields | {"user": user["id"], "role": "admin"}, 201)


def _admin_access(call: Any) -> tuple[Row, Row]:
    domain = domain_of_call(call)
    access: Row | None = call.store.table("domain_accesses").get(call.path["access"])
    if access is None or access["domain_id"] != domain["id"]:
        raise ApiError(404, "No MailDomainAccess matches the given query.")
    return domain, access


def get_admin(call: Any) -> Response:
    _domain_row, access = _admin_access(call)
    return JSONResponse(_access_view(call.store, access))


def remove_admin(call: Any) -> Response:
    _domain_row, access = _admin_access(call)
    _manage_flag(call.store)
    del call.store.table("domain_accesses")[access["id"]]
    return Response(status_code=204)


D = "/maildomains/{domain}"
ROUTES: list[tuple[str, str, str, Any]] = [
    ("GET", "/maildomains/", "user", list_domains),
    ("POST", "/maildomains/", "user", create_domain),
    ("GET", f"{D}/", "user", get_domain),
    ("PATCH", f"{D}/", "user", update_domain),
    ("GET", f"{D}/accesses/", "user", list_admins),
    ("POST", f"{D}/accesses/", "user", add_admin),
    ("GET", f"{D}/accesses/{{access}}/", "user", get_admin),
    ("DELETE", f"{D}/accesses/{{access}}/", "user", remove_admin),
    ("GET", f"{D}/mailboxes/", "user", mb.list_mailboxes),
    ("POST", f"{D}/mailboxes/", "user", mb.create_mailbox),
    ("GET", f"{D}/mailboxes/{{box}}/", "user", mb.get_mailbox),
    ("PATCH", f"{D}/mailboxes/{{box}}/", "user", mb.update_mailbox),
    ("DELETE", f"{D}/mailboxes/{{box}}/", "user", mb.delete_mailbox),
    ("PATCH", f"{D}/mailboxes/{{box}}/reset-password/", "user", mb.reset_password),
    ("GET", "/mailboxes/{box}/accesses/", "user", mb.list_box_accesses),
    ("POST", "/mailboxes/{box}/accesses/", "user", mb.add_box_access),
    ("GET", "/mailboxes/{box}/accesses/{access}/", "user", mb.get_box_access),
    ("PUT", "/mailboxes/{box}/accesses/{access}/", "user", mb.update_box_access),
    ("PATCH", "/mailboxes/{box}/accesses/{access}/", "user", mb.update_box_access),
    ("DELETE", "/mailboxes/{box}/accesses/{access}/", "user", mb.delete_box_access),
]
