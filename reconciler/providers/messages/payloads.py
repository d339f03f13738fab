"""The Messages API's answers as pydantic models (unknown fields ignored) and request bodies.

Every answer is validated here before use (``kit.answers``), so a malformed answer is an
``address: unexpected answer from Messages (...)`` error, never a ``KeyError``.
"""

from __future__ import annotations

from typing import Any

from reconciler.model.resource import JSON
from reconciler.providers.kit.payloads import Answer as _Answer
from reconciler.providers.kit.payloads import Page as Page


class Domain(_Answer):
    """An item of ``GET /maildomains/`` or ``GET /provisioning/maildomains/dns/``."""

    id: str
    name: str


class User(_Answer):
    id: str
    email: str
    full_name: str | None = None
    custom_attributes: dict[str, Any] | None = None


class DomainAccess(_Answer):
    """An item of ``GET /maildomains/{id}/accesses/`` (role is always ``admin``)."""

    id: str
    user: User


class Created(_Answer):
    """The write answer of ``POST /maildomains/{id}/accesses/`` and similar: its id."""

    id: str


class MailboxAccess(_Answer):
    id: str
    user: User
    role: str


class Contact(_Answer):
    name: str | None = None


class Mailbox(_Answer):
    """An item of ``GET /maildomains/{id}/mailboxes/``; the create answer may add
    ``one_time_password`` (a secret, read once by ``actions`` and never kept)."""

    id: str
    local_part: str
    is_identity: bool
    accesses: list[MailboxAccess] = []
    contact: Contact | None = None


class ProvisionError(_Answer):
    domain: str
    error: str


class Provisioned(_Answer):
    """``POST /provisioning/maildomains/``: always 200, per-domain outcome."""

    created: list[str] = []
    existing: list[str] = []
    errors: list[ProvisionError] = []


def provision_body(name: str, values: dict[str, JSON]) -> dict[str, JSON]:
    """All three fields, always: an omitted one would be reset to its default on the server."""
    return {
        "domains": [name],
        "custom_attributes": values["custom_attributes"],
        "oidc_autojoin": values["oidc_autojoin"],
        "identity_sync": values["identity_sync"],
    }


def mailbox_create_body(
    local: str, kind: str, attrs: dict[str, JSON], meta: dict[str, JSON]
) -> dict[str, JSON]:
    metadata: dict[str, JSON] = {"type": kind}
    if kind == "personal":
        metadata |= {"first_name": meta.get("first_name"), "last_name": meta.get("last_name")}
        if attrs.get("custom_attributes") is not None:
            metadata["custom_attributes"] = attrs["custom_attributes"]
    else:
        metadata["name"] = attrs.get("name")
    return {"local_part": local, "metadata": metadata}


def mailbox_update_body(kind: str, attrs: dict[str, JSON]) -> dict[str, JSON]:
    """Personal mailboxes take ``full_name`` (user and contact), others ``name``."""
    metadata: dict[str, JSON] = {}
    if kind == "personal":
        metadata["full_name"] = attrs.get("name")
        if attrs.get("custom_attributes") is not None:
            metadata["custom_attributes"] = attrs["custom_attributes"]
    else:
        metadata["name"] = attrs.get("name")
    return {"metadata": metadata}
