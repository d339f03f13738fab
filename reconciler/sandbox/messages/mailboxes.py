"""Admin views of mailboxes and mailbox accesses (routes listed in ``admin.py``)."""

from __future__ import annotations

import secrets
from typing import Any

from fastapi.responses import JSONResponse, Response

from reconciler.sandbox.messages.access import domain_of_call, may_admin, user_view
from reconciler.sandbox.messages.store import Row, Store, now
from reconciler.sandbox.messages.wire import (
    LOCAL_PART,
    MAILBOX_ROLES,
    ApiError,
    denied,
    field_error,
    page,
)

# -- mailboxes -----------------------------------------------------------------------------


def mailbox_view(store: Store, box: Row) -> dict[str, Any]:
    domain = store.table("domains")[box["domain_id"]]
    users = store.table("users")
    keycloak = store.settings["IDENTITY_PROVIDER"] == "keycloak"
    email = f"{box['local_part']}@{domain['name']}"
    return {
        "id": box["id"],
        "local_part": box["local_part"],
        "domain_name": domain["name"],
        "is_identity": box["is_identity"],
        "alias_of": box.get("alias_of"),
        "accesses": [
            {"id": a["id"], "user": user_view(users[a["user_id"]]), "role": a["role"]}
            for a in store.mailbox_accesses(box["id"])
        ],
        "created_at": box["created_at"],
        "updated_at": box["updated_at"],
        "can_reset_password": box["is_identity"] and keycloak and domain["identity_sync"],
        "contact": None
        if box.get("contact_name") is None and not box["is_identity"] and box["type"] == "redirect"
        else {"id": box["id"], "name": box.get("contact_name"), "email": email},
    }


def list_mailboxes(call: Any) -> Response:
    domain = domain_of_call(call)
    store: Store = call.store
    items = [mailbox_view(store, b) for b in store.mailboxes_of(domain["id"])]
    return JSONResponse(page(items, call.params, call.url))


def create_mailbox(call: Any) -> Response:
    domain = domain_of_call(call)
    store: Store = call.store
    body = call.body if isinstance(call.body, dict) else {}
    metadata = body.get("metadata") or {}
    local = body.get("local_part")
    if not isinstance(local, str) or not local:
        raise field_error("local_part", "This field is required.")
    if len(local) > 64 or not LOCAL_PART.match(local):
        raise field_error("local_part", "Enter a valid value.")
    if any(b["local_part"] == local for b in store.mailboxes_of(domain["id"])):
        raise field_error(
            "local_part", "A mailbox with this local part already exists in this domain."
        )
    kind = metadata.get("type") if isinstance(metadata, dict) else None
    if kind not in ("personal", "shared", "redirect"):
        raise field_error("metadata", "type must be one of personal, shared, redirect.")
    email = f"{local}@{domain['name']}".lower()
    name = None
    if kind == "personal":
        name = f"{metadata.get('first_name')} {metadata.get('last_name')}"
    elif kind == "shared":
        name = metadata.get("name")
    box = store.insert(
        "mailboxes",
        {
            "domain_id": domain["id"],
            "local_part": local,
            "is_identity": kind == "personal",
            "type": kind,
            "alias_of": None,
            "contact_name": name,
        },
    )
    if kind == "personal":
        user = store.user_for(email)
        if user.get("full_name") is None:
            user["full_name"] = name
        if metadata.get("custom_attributes"):
            user["custom_attributes"] = metadata["custom_attributes"]
        store.insert(
            "mailbox_accesses", {"mailbox_id": box["id"], "user_id": user["id"], "role": "admin"}
        )
    answer = mailbox_view(store, box)
    if answer["can_reset_password"]:
        answer["one_time_password"] = secrets.token_urlsafe(12)
        store.data.setdefault("passwords", {})[email] = answer["one_time_password"]
    return JSONResponse(answer, 201)


def _mailbox(call: Any) -> Row:
    domain = domain_of_call(call)
    box: Row | None = call.store.table("mailboxes").get(call.path["box"])
    if box is None or box["domain_id"] != domain["id"]:
        raise ApiError(404, "No Mailbox matches the given query.")
    return box


def get_mailbox(call: Any) -> Response:
    return JSONResponse(mailbox_view(call.store, _mailbox(call)))


def update_mailbox(call: Any) -> Response:
    """Only ``metadata.full_name`` (personal: user and contact), ``metadata.name`` (others) and
    ``metadata.custom_attributes`` (personal: the user's) change; other fields are ignored."""
    box = _mailbox(call)
    store: Store = call.store
    body = call.body if isinstance(call.body, dict) else {}
    metadata = body.get("metadata") or {}
    if box["is_identity"]:
        owner = next(
            (
                store.table("users")[a["user_id"]]
                for a in store.mailbox_accesses(box["id"])
                if store.table("users")[a["user_id"]]["email"]
                == f"{box['local_part']}@{store.table('domains')[box['domain_id']]['name']}".lower()
            ),
            None,
        )
        if metadata.get("full_name"):
            box["contact_name"] = metadata["full_name"]
            if owner is not None:
                owner["full_name"] = metadata["full_name"]
        if metadata.get("custom_attributes") and owner is not None:
            owner["custom_attributes"] = metadata["custom_attributes"]
    elif metadata.get("name"):
        box["contact_name"] = metadata["name"]
    box["updated_at"] = now()
    return JSONResponse(mailbox_view(store, box))


def delete_mailbox(call: Any) -> Response:
    call.store.delete_mailbox(_mailbox(call)["id"])
    return Response(status_code=204)


# -- mailbox accesses ----------------------------------------------------------------------


def _box_for_access(call: Any) -> Row:
    """The mailbox of ``/mailboxes/{box}/``: its admins, its domain's admins or a superuser."""
    store: Store = call.store
    box = store.table("mailboxes").get(call.path["box"])
    if box is None:
        raise ApiError(404, "No Mailbox matches the given query.")
    domain = store.table("domains")[box["domain_id"]]
    mine = any(
        a["user_id"] == call.user["id"] and a["role"] == "admin"
        for a in store.mailbox_accesses(box["id"])
    )
    if not (mine or may_admin(store, call.user, domain)):
        raise denied()
    return box


def _box_access_view(store: Store, access: Row) -> dict[str, Any]:
    user = store.table("users")[access["user_id"]]
    fields = {k: access[k] for k in ("id", "mailbox_id", "role", "created_at", "updated_at")}
    fields["mailbox"] = fields.pop("mailbox_id")
    return fields | {"user": user_view(user)}


def list_box_accesses(call: Any) -> Response:
    box = _box_for_access(call)
    store: Store = call.store
    items = [_box_access_view(store, a) for a in store.mailbox_accesses(box["id"])]
    return JSONResponse(page(items, call.params, call.url))


def _role(body: dict[str, Any]) -> str:
    role = body.get("role")
    if role is None:
        raise field_error("role", "This field is required.")
    if isinstance(role, int) and 1 <= role <= len(MAILBOX_ROLES):
        return MAILBOX_ROLES[role - 1]
    if role not in MAILBOX_ROLES:
        raise field_error("role", f'"{role}" is not a valid choice.')
    return str(role)


def add_box_access(call: Any) -> Response:
    box = _box_for_access(call)
    store: Store = call.store
    body = call.body if isinstance(call.body, dict) else {}
    ref = body.get("user")
    if not isinstance(ref, str) or not ref.strip():
        raise field_error("user", "This field is required.")
    if "@" not in ref and ref not in store.table("users"):
        raise field_error("user", "Invalid user ID.")
    role = _role(body)
    user = store.user_for(ref)
    if any(a["user_id"] == user["id"] for a in store.mailbox_accesses(box["id"])):
        raise field_error("user", "User already has access to this mailbox.")
    access = store.insert(
        "mailbox_accesses", {"mailbox_id": box["id"], "user_id": user["id"], "role": role}
    )
    return JSONResponse(_box_access_view(store, access), 201)


def _box_access(call: Any) -> Row:
    box = _box_for_access(call)
    access: Row | None = call.store.table("mailbox_accesses").get(call.path["access"])
    if access is None or access["mailbox_id"] != box["id"]:
        raise ApiError(404, "No MailboxAccess matches the given query.")
    return access


def get_box_access(call: Any) -> Response:
    return JSONResponse(_box_access_view(call.store, _box_access(call)))


def update_box_access(call: Any) -> Response:
    access = _box_access(call)
    body = call.body if isinstance(call.body, dict) else {}
    if "user" in body and body["user"] != access["user_id"]:
        raise field_error(
            "user",
            "Cannot change the user of an existing mailbox access record. "
            "Delete and create a new one.",
        )
    if call.method == "PUT" or "role" in body:
        access["role"] = _role(body)
    access["updated_at"] = now()
    return JSONResponse(_box_access_view(call.store, access))


def delete_box_access(call: Any) -> Response:
    access = _box_access(call)
    del call.store.table("mailbox_accesses")[access["id"]]
    return Response(status_code=204)


def reset_password(call: Any) -> Response:
    """``PATCH …/mailboxes/{box}/reset-password/``: a new one-time password (Keycloak only)."""
    store: Store = call.store
    if store.settings["IDENTITY_PROVIDER"] != "keycloak":
        return JSONResponse({"error": "Identity provider is not Keycloak."}, 404)
    box = _mailbox(call)
    if not mailbox_view(store, box)["can_reset_password"]:
        return JSONResponse(
            {
                "error": "Cannot reset password for this mailbox. Mail domain identity sync is "
                "not enabled or the mailbox is not a personal mailbox."
            },
            400,
        )
    password = secrets.token_urlsafe(12)
    email = f"{box['local_part']}@{store.table('domains')[box['domain_id']]['name']}".lower()
    store.data.setdefault("passwords", {})[email] = password
    return JSONResponse({"one_time_password": password})
