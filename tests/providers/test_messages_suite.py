"""The provider conformance suite, run for Messages against its sandbox over HTTP.

One sandbox for the module, reset before each test. The variants manage one domain (with
custom attributes, which cannot be read back), an admin, and shared mailboxes with accesses;
they prune admins, mailboxes and mailbox accesses. Every hook is supported (``strict``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest
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
    sandbox = MessagesSandbox(port=0)
    sandbox.start()
    try:
        yield sandbox
    finally:
        sandbox.stop()


class TestMessagesProvider(ProviderSuite):
    provider = "messages"
    strict = True

    def environment(self, tmp_path: Path, request: pytest.FixtureRequest) -> dict[str, str]:
        sandbox: MessagesSandbox = request.getfixturevalue("messages_sandbox")
        credentials: dict[str, str] = httpx.post(
            f"{sandbox.root}/_sandbox/reset/", timeout=10
        ).json()
        return {**credentials, "SANDBOX_ROOT": sandbox.root}

    def spec(self, variant: str) -> str:
        return SPECS[variant]

    def _control(self, env: Mapping[str, str], method: str, path: str, body: Any = None) -> Any:
        response = httpx.request(method, f"{env['SANDBOX_ROOT']}/_sandbox/{path}", json=body)
        response.raise_for_status()
        return response.json()

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

    def throttle(self, env: Mapping[str, str], retry_after: int) -> bool:
        self._control(env, "POST", "faults/", {"throttle": 2, "retry_after": retry_after})
        return True

    def clear_faults(self, env: Mapping[str, str]) -> None:
        self._control(env, "DELETE", "faults/")
