"""No API key, admin token or one-time password in any output, log, saved plan, export or the
state store (the one-time password file the spec names is the only place it goes)."""

from __future__ import annotations

import logging

import pytest
from helpers.leaks import first_runs, scan, second_runs
from messages_org import Org


def test_secrets_never_leave_the_process(org: Org, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    outputs, saved = first_runs(org)
    org.changes({"op": "rename_mailbox", "domain": "acme.fr", "local_part": "contact", "name": "X"})
    org.changes({"op": "refuse_domain", "domain": "new.fr"})
    org.edit(
        "messages.yaml", "    acme-staging.fr: {}\n", "    acme-staging.fr: {}\n    new.fr: {}\n"
    )
    outputs += second_runs(org, "messages")  # new.fr fails: its error passes through redaction
    passwords = org.ctl("GET", "passwords/")
    assert set(passwords) == {"alice@acme.fr", "bob@acme.fr"}
    secrets = [
        org.credentials["MESSAGES_API_KEY"],
        org.credentials["MESSAGES_ADMIN_TOKEN"],
        *passwords.values(),
    ]
    haystacks = scan(org, outputs, caplog.text, saved, secrets)
    assert "Failed to provision domain." in haystacks["outputs"]  # the scan saw real output
    assert (org.tmp / "secrets" / "alice.otp").read_text().strip() == passwords["alice@acme.fr"]
