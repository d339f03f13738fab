"""The access report of the Messages example against the sandbox, against a hand-written
expectation: a domain admin administers the domain and all its mailboxes; a mailbox access gives
its role's right on that mailbox."""

from __future__ import annotations

from access_org import AccessOrg, cells

U, D, MB = "messages.user.", "messages.domain.", "messages.mailbox."


def test_domain_admins_and_mailbox_accesses(messages_org: AccessOrg) -> None:
    messages_org.converge()
    found = cells(messages_org.report())
    got = {k: (c["right"], c["paths"]) for k, c in found.items()}
    alice, bob = U + "alice@acme.fr", U + "bob@acme.fr"
    assert got[(alice, D + "acme.fr")] == ("admin", ["domain admin"])
    assert got[(alice, MB + "contact@acme.fr")] == (
        "admin",
        ["domain admin", "mailbox access admin"],
    )
    assert got[(alice, MB + "bob@acme.fr")] == ("admin", ["domain admin"])
    assert got[(bob, MB + "contact@acme.fr")] == ("write", ["mailbox access sender"])
    assert got[(bob, MB + "bob@acme.fr")] == ("write", ["mailbox access sender"])
    assert (bob, D + "acme.fr") not in got
    assert (alice, D + "acme-staging.fr") not in got
    assert not any(c["differs"] for c in found.values())
