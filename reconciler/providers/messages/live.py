"""Reading live Messages state (HTTP), as Resources shaped like ``compile``'s.

How domains are seen, best first (docs/messages-api.md#reading-live-state):

1. ``admin_token`` set: ``GET /maildomains/`` (a superuser sees every domain), ``GET
   /config/`` (feature flags), and for each domain the spec declares, its admins
   (``/accesses/``) and mailboxes (``/mailboxes/``, whose items carry their accesses), read in
   parallel; a collection the domain leaves out (``admins:`` or ``mailboxes:`` omitted) is not
   read, so it is neither managed nor pruned.
2. the API key has ``maildomains:read``: ``GET /provisioning/maildomains/dns/``, names only.
3. neither ("ensure" mode): nothing can be listed. The domains this reconciler provisioned
   (their ids in the state store) are taken to exist; domains created or changed elsewhere
   cannot be seen, which the plan says.

No API returns a domain's ``oidc_autojoin``, ``identity_sync`` or ``custom_attributes``: when
the spec declares them they are ``None`` here and the engine puts the fingerprints last
applied in their place. A domain's resource id is its canonical name (names are unique and a
domain cannot be deleted); its server id is kept in ``meta["uuid"]``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from reconciler.errors import ProviderError
from reconciler.model.resource import JSON, Resource
from reconciler.model.state import State
from reconciler.providers.kit.answers import decode_as
from reconciler.providers.kit.pool import pool_map
from reconciler.providers.messages.client import SYSTEM, MessagesClient
from reconciler.providers.messages.compile import UNREADABLE, addr, canonical_domain, email
from reconciler.providers.messages.payloads import Domain, DomainAccess, Mailbox
from reconciler.state.store import StateStore

ENSURE_WARNING = (
    "messages: the API key cannot list domains (no maildomains:read scope) and no admin_token "
    "is set: domains are planned in ensure mode (created or updated, never found missing); "
    "domains created or changed outside this spec set cannot be seen"
)


@dataclass
class Seen:
    """What a read learnt besides resources (kept in the live state's context)."""

    mode: str  # "admin" | "listing" | "ensure"
    uuids: dict[str, str] = field(default_factory=dict)  # domain name -> server id
    mailboxes: dict[str, str] = field(default_factory=dict)  # mailbox address name -> id
    users: set[str] = field(default_factory=set)  # e-mails known to the server
    flags: dict[str, JSON] = field(default_factory=dict)
    applied: list[str] = field(default_factory=list)  # domains this spec set provisioned

    def context(self, entitlements: str) -> dict[str, JSON]:
        return {
            "mode": self.mode,
            "applied_domains": list(self.applied),
            "entitlements": entitlements,
            "users": sorted(self.users),
            "manage_accesses": bool(self.flags.get("FEATURE_MAILDOMAIN_MANAGE_ACCESSES", True)),
            "warnings": [ENSURE_WARNING] if self.mode == "ensure" else [],
        }


def domains(client: MessagesClient, applied: list[str]) -> tuple[str, list[Domain]]:
    """Every domain the credentials can see, and how they were seen (see the docstring);
    ``applied`` (``remembered()``) stands for the domains in ensure mode."""
    if client.has_admin:
        return "admin", client.pages(Domain, "/maildomains/", admin=True)
    try:
        return "listing", client.pages(Domain, "/provisioning/maildomains/dns/", admin=False)
    except ProviderError as exc:
        if exc.status not in (403, 404):  # no scope, or a server without the listing
            raise
    return "ensure", [Domain(id=name, name=name) for name in applied]


def remembered(store: StateStore) -> list[str]:
    """Domains provisioned from this spec set (the state store holds their names as ids)."""
    return [
        e.address.name
        for e in store.entries()
        if e.address.provider == "messages" and e.address.kind == "domain" and e.server_id
    ]


def read(
    client: MessagesClient, store: StateStore, desired: State, entitlements: str
) -> tuple[State, Seen]:
    """The live state (see the module docstring) and what was learnt on the way."""
    applied = remembered(store)
    mode, found = domains(client, applied)
    seen = Seen(mode, applied=applied)
    declared = {r.address.name: r for r in desired.of_kind("messages", "domain")}
    out: list[Resource] = []
    for d in found:
        name = canonical_domain(d.name)
        seen.uuids[name] = d.id
        want = declared.get(name)
        sensitive = want.sensitive if want is not None else frozenset()
        attrs: dict[str, JSON] = {f: None for f in UNREADABLE if f in sensitive}
        out.append(Resource(addr("domain", name), attrs, sensitive, id=name, meta={"uuid": d.id}))
    if mode == "admin":
        seen.flags = client.config()
        wanted = []
        for n in sorted(declared):
            manages = declared[n].meta.get("manages")
            collections = set(manages) if isinstance(manages, list) else set()
            if entitlements == "deploycenter":
                collections.add("admins")  # shown as DeployCenter's, never changed
            if n in seen.uuids and collections:
                wanted.append((n, frozenset(str(c) for c in collections)))
        for batch in pool_map(
            lambda w: _domain_objects(client, w[0], seen.uuids[w[0]], w[1]), wanted
        ):
            out.extend(batch.resources)
            seen.users |= batch.users
            seen.mailboxes |= batch.mailboxes
    return State(out, {"messages": seen.context(entitlements)}), seen


@dataclass
class _Batch:
    resources: list[Resource]
    users: set[str]
    mailboxes: dict[str, str]


def _domain_objects(
    client: MessagesClient, name: str, uuid: str, collections: frozenset[str]
) -> _Batch:
    """One domain's admins, and mailboxes with their accesses (a request each, plus pages),
    for the ``collections`` the spec manages."""
    where = addr("domain", name)
    admins: list[DomainAccess] = []
    if "admins" in collections:
        data = client.admin("GET", f"/maildomains/{uuid}/accesses/", address=where)
        admins = decode_as(list[DomainAccess], data, address=where, system=SYSTEM)
    boxes: list[Mailbox] = []
    if "mailboxes" in collections:
        path = f"/maildomains/{uuid}/mailboxes/"
        boxes = client.pages(Mailbox, path, admin=True, address=where)
    batch = _Batch([], {email(a.user.email) for a in admins}, {})
    for a in admins:
        who = email(a.user.email)
        batch.resources.append(
            Resource(
                addr("domain_admin", f"{name}/{who}"),
                {},
                depends_on=frozenset({where}),
                id=a.id,
                meta={"domain": uuid},
            )
        )
    for box in boxes:
        batch.resources.extend(_mailbox(name, uuid, box, batch))
    return batch


def _mailbox(domain: str, uuid: str, box: Mailbox, batch: _Batch) -> Iterable[Resource]:
    name = f"{box.local_part}@{domain}"
    batch.mailboxes[name] = box.id
    owner = name.lower()
    attrs: dict[str, JSON] = {
        "type": "personal" if box.is_identity else "shared",
        "name": box.contact.name if box.contact is not None else None,
    }
    for access in box.accesses:
        if box.is_identity and email(access.user.email) == owner:
            attrs["custom_attributes"] = access.user.custom_attributes or {}
    yield Resource(
        addr("mailbox", name),
        attrs,
        depends_on=frozenset({addr("domain", domain)}),
        id=box.id,
        meta={"domain": uuid},
    )
    for access in box.accesses:
        who = email(access.user.email)
        batch.users.add(who)
        yield Resource(
            addr("mailbox_access", f"{name}/{who}"),
            {"role": access.role},
            depends_on=frozenset({addr("mailbox", name)}),
            id=access.id,
            meta={"mailbox": box.id},
        )
