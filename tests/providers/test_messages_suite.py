"""The provider conformance suite, run for Messages against its sandbox over HTTP.

One sandbox for the module, reset before each test. The variants manage one domain (with
custom attributes, which cannot be read back), an admin, and shared mailboxes with accesses;
they prune admins, mailboxes and mailbox accesses. Every hook is supported (``strict``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import httpx
import pytest
from helpers.sandbox_suite import SandboxHooks
from helpers.sandboxes import serve
from provider_suite import OutOfBand, ProviderSuite

from reconciler.address import Address
from reconciler.sandbox.messages.server import MessagesSandbox

HEAD = """\
version: 1
messages:
  connection:
    url: ${env:MESSAGES_URL}
    channel_id: ${env:MESSAGES_CHANNEL_ID}
    api_key: ${env:MESSAGES_API_KEY}
    admin_token: ${env:MESSAGES_ADMIN_TOKEN}
  prune: [admins, mailboxes, mailbox_access]
  domains:
    suite.fr:
      admins: [alice@suite.fr]
"""

SPECS = {
    "initial": HEAD
    + """\
      custom_attributes: {siret: "1"}
      mailboxes:
        contact: {type: shared, name: Contact, access: {alice@suite.fr: admin}}
""",
    "updated": HEAD
    + """\
      custom_attributes: {siret: "2"}
      mailboxes:
        contact:
          type: shared
          name: Contact us
          access: {alice@suite.fr: admin, bob@suite.fr: sender}
        team: {type: shared, name: Team}
""",
    "reduced": HEAD
    + """\
      custom_attributes: {siret: "2"}
      mailboxes:
        contact: {type: shared, name: Contact us, access: {alice@suite.fr: admin}}
""",
}

CONTACT = Address("messages", "mailbox", "contact@suite.fr")


@pytest.fixture(scope="module")
def messages_sandbox() -> Iterator[MessagesSandbox]:
    yield from serve(lambda: MessagesSandbox(port=0))


class TestMessagesProvider(SandboxHooks, ProviderSuite):
    sandbox_fixture = "messages_sandbox"
    variant_specs = SPECS
    provider = "messages"
    strict = True

    def out_of_band(self, env: Mapping[str, str]) -> OutOfBand:
        """The shared mailbox is renamed in the admin UI (``updated`` renames it too)."""
        change = {"op": "rename_mailbox", "domain": "suite.fr", "local_part": "contact"}
        self._control(env, "POST", "changes/", {"changes": [change | {"name": "By hand"}]})
        return OutOfBand(CONTACT)

    def lose_create_answer(self, env: Mapping[str, str]) -> Address:
        self._control(
            env, "POST", "faults/", {"lost": 1, "only": "POST /maildomains/{domain}/mailboxes/"}
        )
        return CONTACT

    def live_count(self, env: Mapping[str, str], address: Address) -> int:
        local, domain = address.name.rsplit("@", 1)
        headers = {"Authorization": f"Bearer {env['MESSAGES_ADMIN_TOKEN']}"}
        rows = self._control(env, "GET", "domains/")
        uuid = next(d["id"] for d in rows if d["name"] == domain)
        url = f"{env['MESSAGES_URL']}maildomains/{uuid}/mailboxes/"
        boxes = httpx.get(url, headers=headers).json()["results"]
        return sum(1 for b in boxes if b["local_part"] == local)
