"""The ``messages:`` spec section (pydantic, unknown keys rejected). See specs/messages.yaml.

Domains are keyed by name (compared the way the server stores them: case-folded, IDN labels
as punycode), mailboxes by local part, admins and access grants by e-mail. Rules that need no
network are checked here or in ``compile`` (with the spec location): personal mailboxes need
``first_name`` and ``last_name``, shared ones take a ``name``; roles are ``viewer``,
``editor``, ``sender`` or ``admin``; local parts are letters, digits, ``_``, ``.`` and ``-``
(up to 64).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from reconciler.secrets.field import SecretField

MailboxRole = Literal["viewer", "editor", "sender", "admin"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MessagesConnection(_Model):
    """How to reach the server and who the reconciler is there."""

    url: str = Field(description="The API root, e.g. https://mail.example/api/v1.0/.")
    channel_id: str = Field(description="Id of a global api_key channel (header X-Channel-Id).")
    api_key: SecretField = Field(
        description="The channel's key (header X-API-Key); scopes maildomains:create, and "
        "maildomains:read to see every domain."
    )
    admin_token: SecretField | None = Field(
        default=None,
        description="Bearer token of a superuser: the admin API (domain admins, mailboxes). "
        "Without it only domains are managed.",
    )
    rate_limit: int = Field(default=240, ge=1, le=100000, description="Requests per minute.")
    allow_insecure_http: bool = Field(
        default=False,
        description="Allow plain http:// to a host other than loopback (credentials would "
        "cross the network unencrypted).",
    )


class FileStore(_Model):
    """Write the value to a file (mode 0600), relative to the working directory."""

    file: str


class OneTimePassword(_Model):
    """Where a personal mailbox's one-time password goes when the server returns one (Keycloak
    identity sync): a file, or nowhere (``store`` omitted: it is dropped)."""

    store: FileStore | None = None


class MailboxSpec(_Model):
    """A mailbox of the domain, keyed by local part."""

    type: Literal["personal", "shared"] = Field(
        description="personal: an identity mailbox (creates the user, who administers it); "
        "shared: a team mailbox. Fixed at creation."
    )
    name: str | None = Field(default=None, description="Display name of a shared mailbox.")
    first_name: str | None = Field(default=None, description="Personal mailboxes only.")
    last_name: str | None = Field(default=None, description="Personal mailboxes only.")
    custom_attributes: dict[str, Any] | None = Field(
        default=None, description="The owner's custom attributes (personal mailboxes only)."
    )
    access: dict[str, MailboxRole] = Field(
        default_factory=dict,
        description="E-mail -> role. A personal mailbox's owner is admin unless stated.",
    )
    one_time_password: OneTimePassword | None = None

    @model_validator(mode="after")
    def _fields_of_type(self) -> MailboxSpec:
        if self.type == "personal":
            if not self.first_name or not self.last_name:
                raise ValueError("a personal mailbox needs first_name and last_name")
            if self.name is not None:
                raise ValueError("a personal mailbox's name is first_name last_name")
        else:
            if self.first_name or self.last_name or self.custom_attributes is not None:
                raise ValueError(
                    "first_name, last_name and custom_attributes are for personal mailboxes"
                )
            if self.one_time_password is not None:
                raise ValueError("only personal mailboxes get a one-time password")
        return self


class DomainSpec(_Model):
    """A mail domain. ``oidc_autojoin``, ``identity_sync`` and ``custom_attributes`` cannot be
    read back from the server: when one of them is declared, all three are managed (the ones
    left out take the provisioning defaults: true, false, {}) and compared with what was last
    applied. When none is declared, only the domain's existence is managed."""

    oidc_autojoin: bool | None = None
    identity_sync: bool | None = None
    custom_attributes: dict[str, Any] | None = None
    admins: list[str] | None = Field(
        default=None,
        description="Domain admins by e-mail (entitlements: local only). Omitted: not managed.",
    )
    mailboxes: dict[str, MailboxSpec] | None = Field(
        default=None,
        description="Mailboxes by local part. Omitted: the domain's mailboxes are not managed.",
    )


class MessagesSection(_Model):
    """The ``messages:`` section of a spec."""

    connection: MessagesConnection
    entitlements: Literal["local", "deploycenter"] = Field(
        default="local",
        description="deploycenter: DeployCenter owns domain admins (synced at each login), so "
        "admins cannot be declared.",
    )
    prune: list[str] = Field(
        default_factory=list,
        description="Collections whose undeclared live objects are deleted: admins, mailboxes, "
        "mailbox_access (domains cannot be deleted over the API).",
    )
    domains: dict[str, DomainSpec] = Field(default_factory=dict)
