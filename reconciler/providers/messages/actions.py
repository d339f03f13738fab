"""Applying one Messages change (HTTP). Every step is safe to run again:

* domains: ``POST /provisioning/maildomains/`` with all three fields (an idempotent upsert, so
  it is re-sent after a lost answer; docs/messages-api.md#provisioning-upsert); a per-domain
  ``errors`` entry fails the change;
* domain admins, mailboxes and mailbox accesses: ``kit.create_once`` (after an ambiguous
  failure the object is looked up by natural key and adopted); a delete that finds nothing
  gone already is done.

A personal mailbox's ``one_time_password`` is written to the file the spec names (mode 0600)
or dropped; it never reaches a result, a log or the state store.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from reconciler.errors import ProviderError
from reconciler.model.resource import JSON
from reconciler.plan.change import Action, Change
from reconciler.providers.base import Outcome
from reconciler.providers.kit.answers import decode, decode_as
from reconciler.providers.kit.create import Created, create_once
from reconciler.providers.messages import payloads as p
from reconciler.providers.messages.client import SYSTEM, MessagesClient
from reconciler.providers.messages.compile import DEFAULTS, canonical_domain, email


class Actions:
    """Apply with the ids the last read learnt (``uuids``: domain name -> server id;
    ``mailboxes``: mailbox address name -> server id), completed by look-ups as needed."""

    def __init__(self, client: MessagesClient, uuids: dict[str, str], mailboxes: dict[str, str]):
        self.client = client
        self.uuids = uuids
        self.mailboxes = mailboxes

    def apply(self, change: Change) -> Outcome:
        handler: Callable[[Change], Outcome] = {
            "domain": self._domain,
            "domain_admin": self._admin,
            "mailbox": self._mailbox,
            "mailbox_access": self._access,
        }[change.address.kind]
        return handler(change)

    # -- lookups -------------------------------------------------------------------------------

    def domain_uuid(self, name: str, address: object) -> str:
        if name not in self.uuids:
            for d in self.client.pages(p.Domain, "/maildomains/", admin=True, address=address):
                self.uuids[canonical_domain(d.name)] = d.id
        if name not in self.uuids:
            raise ProviderError(address, f"domain {name} is not on the server")
        return self.uuids[name]

    def mailbox_uuid(self, name: str, address: object) -> str:
        if name not in self.mailboxes:
            found = self._find_mailbox(name, address)
            if found is None:
                raise ProviderError(address, f"mailbox {name} is not on the server")
        return self.mailboxes[name]

    def _find_mailbox(self, name: str, address: object) -> p.Mailbox | None:
        local, domain = name.rsplit("@", 1)
        path = f"/maildomains/{self.domain_uuid(domain, address)}/mailboxes/"
        for box in self.client.pages(p.Mailbox, path, admin=True, address=address):
            self.mailboxes[f"{box.local_part}@{domain}"] = box.id
            if box.local_part == local:
                return box
        return None

    # -- shared steps --------------------------------------------------------------------------

    def _delete(self, collection: str, change: Change) -> None:
        """``DELETE`` the live object of ``collection``; one already gone counts as done."""
        assert change.live is not None
        self.client.admin(
            "DELETE", f"{collection}{change.live.id}/", address=change.address, ok_missing=True
        )

    def _post_access(self, collection: str, who: str, role: object, address: object) -> str:
        """``POST`` an access of ``who`` with ``role`` to ``collection``: the new id."""
        body = {"user": who, "role": role}
        data = self.client.admin("POST", collection, body=body, address=address)
        return decode(p.Created, data, address=address, system=SYSTEM).id

    # -- domains -------------------------------------------------------------------------------

    def _domain(self, change: Change) -> Outcome:
        name = change.address.name
        if change.action is Action.DELETE:
            raise ProviderError(change.address, "the API has no delete for mail domains")
        desired = change.desired
        assert desired is not None
        values = desired.meta.get("provision")
        fields: dict[str, JSON] = dict(values) if isinstance(values, dict) else dict(DEFAULTS)
        data = self.client.key(
            "POST",
            "/provisioning/maildomains/",
            body=p.provision_body(name, fields),
            address=change.address,
            idempotent=True,  # an upsert: sending it again changes nothing more
        )
        answer = decode(p.Provisioned, data, address=change.address, system=SYSTEM)
        for error in answer.errors:
            raise ProviderError(
                change.address, f"provisioning refused {error.domain}: {error.error}"
            )
        if name not in answer.created and name not in answer.existing:
            raise ProviderError(change.address, f"provisioning did not report {name}")
        return Outcome(server_id=name, message="created" if name in answer.created else None)

    # -- domain admins -------------------------------------------------------------------------

    def _admin(self, change: Change) -> Outcome:
        domain, who = change.address.name.split("/", 1)
        uuid = self.domain_uuid(domain, change.address)
        path = f"/maildomains/{uuid}/accesses/"
        if change.action is Action.DELETE:
            self._delete(path, change)
            return Outcome()

        def lookup() -> str | None:
            data = self.client.admin("GET", path, address=change.address)
            rows = decode_as(list[p.DomainAccess], data, address=change.address, system=SYSTEM)
            return next((r.id for r in rows if email(r.user.email) == who), None)

        def post() -> str:
            return self._post_access(path, who, "admin", change.address)

        made = create_once(post, lookup)
        return Outcome(server_id=made.value, message="adopted" if made.adopted else None)

    # -- mailboxes -----------------------------------------------------------------------------

    def _mailbox(self, change: Change) -> Outcome:
        name = change.address.name
        local, domain = name.rsplit("@", 1)
        base = f"/maildomains/{self.domain_uuid(domain, change.address)}/mailboxes/"
        if change.action is Action.DELETE:
            self._delete(base, change)
            self.mailboxes.pop(name, None)
            return Outcome()
        desired = change.desired
        assert desired is not None
        attrs = dict(desired.attributes)
        kind = str(attrs["type"])
        if change.action is Action.UPDATE:
            assert change.live is not None and change.live.id is not None
            body = p.mailbox_update_body(kind, attrs)
            self.client.admin(
                "PATCH", f"{base}{change.live.id}/", body=body, address=change.address
            )
            return Outcome(server_id=change.live.id)
        meta = dict(desired.meta)
        answer: dict[str, Any] = {}

        def post() -> str:
            body = p.mailbox_create_body(local, kind, attrs, meta)
            data = self.client.admin("POST", base, body=body, address=change.address)
            box = decode(p.Mailbox, data, address=change.address, system=SYSTEM)
            if isinstance(data, dict):
                answer["password"] = data.get("one_time_password")
            return box.id

        def lookup() -> str | None:
            found = self._find_mailbox(name, change.address)
            return found.id if found is not None else None

        made = create_once(post, lookup)
        self.mailboxes[name] = made.value
        note = _keep_password(answer.get("password"), meta.get("password_file"), change)
        if made.adopted:
            note = "adopted after a lost answer (its one-time password, if any, was lost)"
        return Outcome(server_id=made.value, message=note)

    # -- mailbox accesses ----------------------------------------------------------------------

    def _access(self, change: Change) -> Outcome:
        mailbox, who = change.address.name.split("/", 1)
        # a live access names its mailbox (which a delete in the same plan may have removed)
        known = change.live.meta.get("mailbox") if change.live is not None else None
        box = known if isinstance(known, str) else self.mailbox_uuid(mailbox, change.address)
        path = f"/mailboxes/{box}/accesses/"
        if change.action is Action.DELETE:
            self._delete(path, change)
            return Outcome()
        assert change.desired is not None
        role = change.desired.attributes["role"]
        if change.action is Action.UPDATE:
            assert change.live is not None
            body = {"role": role}
            self.client.admin(
                "PATCH", f"{path}{change.live.id}/", body=body, address=change.address
            )
            return Outcome(server_id=change.live.id)

        def lookup() -> str | None:
            rows = self.client.pages(p.MailboxAccess, path, admin=True, address=change.address)
            return next((r.id for r in rows if email(r.user.email) == who), None)

        def post() -> str:
            return self._post_access(path, who, role, change.address)

        try:
            made = create_once(post, lookup)
        except ProviderError as exc:
            # a personal mailbox's owner already holds the admin access the server gave it
            found = lookup() if exc.status == 400 else None
            if found is None:
                raise
            made = Created(found, adopted=True)
        if made.adopted:  # it may hold another role: make it the declared one
            body = {"role": role}
            self.client.admin("PATCH", f"{path}{made.value}/", body=body, address=change.address)
        return Outcome(server_id=made.value, message="adopted" if made.adopted else None)


def _keep_password(password: object, target: JSON, change: Change) -> str | None:
    """Write a one-time password where the spec says (mode 0600), or drop it."""
    if not isinstance(password, str) or not password:
        return None
    if not isinstance(target, str):
        return "one-time password returned and dropped (no one_time_password.store)"
    path = Path(target)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(password + "\n")
        os.chmod(path, 0o600)
    except OSError as exc:
        raise ProviderError(
            change.address,
            f"created, but its one-time password could not be written to {path} ({exc.strerror})",
        ) from None
    return f"one-time password written to {path}"
