"""``messages:`` section -> desired Resources (pure).

Addresses (provider ``messages``):

=================  ====================================  =======================================
kind               name                                  attributes
=================  ====================================  =======================================
``domain``         canonical domain name                 ``oidc_autojoin``, ``identity_sync``,
                                                         ``custom_attributes`` (write-only, when
                                                         declared: keyed fingerprints)
``domain_admin``   ``<domain>/<e-mail>``                 (none: it exists or not)
``mailbox``        ``<local part>@<domain>``             ``type``, ``name`` (``custom_attributes``
                                                         when declared)
``mailbox_access`` ``<local part>@<domain>/<e-mail>``    ``role``
=================  ====================================  =======================================

The write-only domain fields travel as ``Secret`` values named ``<field>=<canonical JSON>`` so
the loader fingerprints them with the store's key; their plain values are in ``meta`` for the
provisioning call (they are not secret: a SIRET, an organisation name).
"""

from __future__ import annotations

import re
from typing import Any

import idna

from reconciler.address import Address
from reconciler.errors import SpecError, SpecErrors
from reconciler.model.resource import JSON, Resource, canonical_json
from reconciler.providers.base import CompileContext, Compiled
from reconciler.providers.messages.spec import DomainSpec, MailboxSpec, MessagesSection
from reconciler.secrets.value import Secret

NAME = "messages"
KINDS = ("domain", "domain_admin", "mailbox", "mailbox_access")
COLLECTIONS = {"admins": "domain_admin", "mailboxes": "mailbox", "mailbox_access": "mailbox_access"}
UNREADABLE = ("oidc_autojoin", "identity_sync", "custom_attributes")
DEFAULTS: dict[str, JSON] = {"oidc_autojoin": True, "identity_sync": False, "custom_attributes": {}}
_DOMAIN = re.compile(r"^[a-z0-9][a-z0-9.-]*[a-z0-9]$")
_LOCAL = re.compile(r"^[a-zA-Z0-9_.-]{1,64}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def canonical_domain(raw: str) -> str:
    """The name as the server stores it (``normalize_domain``): trimmed, no trailing dot,
    case-folded, IDN labels as punycode. Unconvertible names come back case-folded."""
    name = raw.strip().rstrip(".").casefold()
    try:
        return idna.encode(name, uts46=True).decode("ascii")
    except idna.IDNAError:
        return name


def domain_problem(name: str) -> str | None:
    if not name or len(name) > 253 or not _DOMAIN.match(name):
        return f"{name!r} is not a valid domain name (letters, digits, '-' and '.')"
    return None


def email(raw: str) -> str:
    """E-mails compare case-insensitively (the server looks users up by lower-case e-mail)."""
    local, _, domain = raw.strip().rpartition("@")
    return f"{local.lower()}@{canonical_domain(domain)}" if local else raw.strip().lower()


def addr(kind: str, name: str) -> Address:
    return Address(NAME, kind, name)


def written(name: str, value: JSON) -> Secret:
    """The fingerprinted form of one write-only domain field."""
    return Secret(f"{name}={canonical_json(value)}")


def compile_section(section: MessagesSection, ctx: CompileContext) -> Compiled:
    """Desired resources; spec errors (with locations) are collected and raised together."""
    errors: list[SpecError] = []
    out: list[Resource] = []
    seen: dict[str, str] = {}
    for key, domain in section.domains.items():
        where = (NAME, "domains", key)
        name = canonical_domain(key)
        problem = domain_problem(name)
        if problem:
            errors.append(SpecError(problem, ctx.locate(where)))
            continue
        if name in seen:
            errors.append(
                SpecError(f"{key!r} and {seen[name]!r} are the same domain", ctx.locate(where))
            )
            continue
        seen[name] = key
        out.append(_domain(name, domain, ctx.locate(where)))
        out += _admins(section, name, domain, where, ctx, errors)
        for local, box in (domain.mailboxes or {}).items():
            out += _mailbox(section, name, local, box, (*where, "mailboxes", local), ctx, errors)
    for i, coll in enumerate(section.prune):
        if coll == "domains":
            errors.append(
                SpecError(
                    "domains cannot be pruned: the API has no delete",
                    ctx.locate((NAME, "prune", i)),
                )
            )
        elif coll not in COLLECTIONS:
            errors.append(
                SpecError(
                    f"unknown collection {coll!r} in prune (one of {', '.join(COLLECTIONS)})",
                    ctx.locate((NAME, "prune", i)),
                )
            )
    if section.entitlements == "deploycenter" and "admins" in section.prune:
        errors.append(
            SpecError(
                "admins cannot be pruned with entitlements: deploycenter (DeployCenter owns them)",
                ctx.locate((NAME, "prune")),
            )
        )
    if errors:
        raise SpecErrors(errors)
    return Compiled(resources=out, prune=frozenset(COLLECTIONS[c] for c in section.prune))


def _domain(name: str, domain: DomainSpec, location: Any) -> Resource:
    """``meta["manages"]``: which of the domain's collections the spec manages (``admins``,
    ``mailboxes``): an omitted collection is not read, so a prune scope never empties it."""
    manages: list[JSON] = [c for c in ("admins", "mailboxes") if getattr(domain, c) is not None]
    declared = {f: getattr(domain, f) for f in UNREADABLE if getattr(domain, f) is not None}
    if not declared:
        return Resource(addr("domain", name), {}, location=location, meta={"manages": manages})
    values: dict[str, JSON] = {**DEFAULTS, **declared}
    return Resource(
        addr("domain", name),
        {f: None for f in UNREADABLE},
        sensitive=frozenset(UNREADABLE),
        location=location,
        secrets={f: written(f, values[f]) for f in UNREADABLE},
        meta={"provision": values, "manages": manages},
    )


def _admins(
    section: MessagesSection,
    name: str,
    domain: DomainSpec,
    where: tuple[str, ...],
    ctx: CompileContext,
    errors: list[SpecError],
) -> list[Resource]:
    if domain.admins is None:
        return []
    if section.entitlements == "deploycenter":
        errors.append(
            SpecError(
                "admins cannot be declared with entitlements: deploycenter: DeployCenter owns "
                "domain admins and reverts any change at the user's next login",
                ctx.locate((*where, "admins")),
            )
        )
        return []
    if section.connection.admin_token is None:
        errors.append(_needs_token("admins", ctx.locate((*where, "admins"))))
        return []
    out = []
    for i, raw in enumerate(domain.admins):
        if not _EMAIL.match(raw.strip()):
            errors.append(SpecError(f"{raw!r} is not an e-mail", ctx.locate((*where, "admins", i))))
            continue
        out.append(
            Resource(
                addr("domain_admin", f"{name}/{email(raw)}"),
                {},
                depends_on=frozenset({addr("domain", name)}),
                location=ctx.locate((*where, "admins", i)),
            )
        )
    return out


def _needs_token(what: str, location: Any) -> SpecError:
    return SpecError(
        f"{what} are managed through the admin API: set connection.admin_token (a superuser's "
        "bearer token)",
        location,
    )


def _mailbox(
    section: MessagesSection,
    domain: str,
    local: str,
    box: MailboxSpec,
    where: tuple[str, ...],
    ctx: CompileContext,
    errors: list[SpecError],
) -> list[Resource]:
    if section.connection.admin_token is None:
        errors.append(_needs_token("mailboxes", ctx.locate(where)))
        return []
    if not _LOCAL.match(local):
        errors.append(
            SpecError(
                f"{local!r}: a local part is letters, digits, '_', '.', '-'", ctx.locate(where)
            )
        )
        return []
    name = f"{local}@{domain}"
    attrs: dict[str, JSON] = {"type": box.type}
    attrs["name"] = f"{box.first_name} {box.last_name}" if box.type == "personal" else box.name
    if box.custom_attributes is not None:
        attrs["custom_attributes"] = box.custom_attributes
    meta: dict[str, JSON] = {}
    if box.type == "personal":
        meta = {"first_name": box.first_name, "last_name": box.last_name}
        if box.one_time_password is not None and box.one_time_password.store is not None:
            meta["password_file"] = box.one_time_password.store.file
    mailbox = Resource(
        addr("mailbox", name),
        attrs,
        depends_on=frozenset({addr("domain", domain)}),
        location=ctx.locate(where),
        meta=meta,
    )
    access = {email(k): v for k, v in box.access.items()}
    if box.type == "personal":
        access.setdefault(name.lower(), "admin")  # the server makes the owner its admin
    grants = [
        Resource(
            addr("mailbox_access", f"{name}/{who}"),
            {"role": role},
            depends_on=frozenset({addr("mailbox", name)}),
            location=ctx.locate((*where, "access")),
        )
        for who, role in sorted(access.items())
    ]
    return [mailbox, *grants]
