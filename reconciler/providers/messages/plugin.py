"""The Messages plugin record: spec section, compile, open, export."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from reconciler.model.state import State
from reconciler.providers.base import Provider, ProviderPlugin
from reconciler.providers.messages.access import access
from reconciler.providers.messages.compile import compile_section
from reconciler.providers.messages.provider import MessagesProvider
from reconciler.providers.messages.spec import MessagesSection
from reconciler.state.store import StateStore

UNREADABLE_NOTE = (
    "oidc_autojoin, identity_sync and custom_attributes cannot be read over the API: declare "
    "them here to manage them (then every provisioning call sends all three)"
)


def open_provider(section: MessagesSection, store: StateStore) -> MessagesProvider:
    """A provider for the section's server (no request until it is used)."""
    return MessagesProvider(section, store)


def export(provider: Provider) -> dict[str, Any]:
    """The live server as a ``messages:`` section: every visible domain; with an admin token
    (``MESSAGES_ADMIN_TOKEN`` set) also each domain's admins, mailboxes and their accesses,
    and the token in the written connection. The unreadable domain fields are left out, with
    a comment saying so (``#`` key). Planning the written spec gives no changes."""
    assert isinstance(provider, MessagesProvider)
    live = provider.read(State())
    domains: dict[str, dict[str, Any]] = {}
    for r in live.of_kind("messages", "domain"):
        domains[r.address.name] = {"#": UNREADABLE_NOTE}
    if provider.client.has_admin:
        # only declared domains' objects are read: read again with every domain declared
        from reconciler.model.resource import JSON, Resource
        from reconciler.providers.messages.compile import addr

        every: dict[str, JSON] = {"manages": ["admins", "mailboxes"]}
        wanted = State(Resource(addr("domain", name), {}, meta=every) for name in domains)
        live = provider.read(wanted)
    deploycenter = provider.section.entitlements == "deploycenter"
    for r in live.resources():
        kind, name = r.address.kind, r.address.name
        if kind == "domain_admin" and not deploycenter:
            domain, who = name.split("/", 1)
            domains[domain].setdefault("admins", []).append(who)
        elif kind == "mailbox":
            local, domain = name.rsplit("@", 1)
            box: dict[str, Any] = {"type": r.attributes["type"]}
            if r.attributes["type"] == "personal":
                first, _, last = str(r.attributes["name"] or "").partition(" ")
                box |= {"first_name": first, "last_name": last}
            elif r.attributes.get("name") is not None:
                box["name"] = r.attributes["name"]
            domains[domain].setdefault("mailboxes", {})[local] = box
    for r in live.of_kind("messages", "mailbox_access"):
        mailbox, who = r.address.name.split("/", 1)
        local, domain = mailbox.rsplit("@", 1)
        box = domains[domain]["mailboxes"][local]
        if box["type"] == "personal" and who == mailbox.lower() and r.attributes["role"] == "admin":
            continue  # implied: the server makes the owner admin
        box.setdefault("access", {})[who] = r.attributes["role"]
    out: dict[str, Any] = {"domains": domains}
    if any("admins" in d or "mailboxes" in d for d in domains.values()):
        out["connection"] = dict(ADMIN_TOKEN)  # the written spec manages them through it
    if deploycenter:
        out["entitlements"] = "deploycenter"
    return out


ADMIN_TOKEN = {"admin_token": "${env:MESSAGES_ADMIN_TOKEN}"}


@dataclass(frozen=True)
class MessagesPlugin(ProviderPlugin):
    """The plugin record plus the optional connection field export reads with when its
    variable is set: the admin token (admins and mailboxes are read through it)."""

    connection_optional: Mapping[str, str] = field(default_factory=lambda: dict(ADMIN_TOKEN))


PLUGIN = MessagesPlugin(
    name="messages",
    section=MessagesSection,
    compile=compile_section,
    open=open_provider,
    export=export,
    access=access,
)
