"""No API key, admin token or one-time password in any output, log, saved plan, export or the
state store (the one-time password file the spec names is the only place it goes)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from messages_org import Org


@pytest.fixture
def root_logging() -> Iterator[None]:
    """RECONCILER_LOG makes the CLI point the root logger at the command's stderr (a stream
    the test runner closes): put the root logger back as it was after the test."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


@pytest.mark.usefixtures("root_logging")
def test_secrets_never_leave_the_process(org: Org, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    org.monkeypatch.setenv("RECONCILER_LOG", "debug")
    outputs = []
    spec = str(org.spec)
    saved = org.tmp / "plan.json"
    for args in (
        ("plan", spec, "--out", str(saved)),
        ("plan", spec, "--format", "json", "--stats"),
        ("apply", "--plan", str(saved)),
        ("plan", spec, "--format", "markdown"),
    ):
        result = org.run(*args)
        assert result.exit_code == 0, result.output
        outputs.append(result.output)
    org.changes({"op": "rename_mailbox", "domain": "acme.fr", "local_part": "contact", "name": "X"})
    org.changes({"op": "refuse_domain", "domain": "new.fr"})
    org.edit(
        "messages.yaml", "    acme-staging.fr: {}\n", "    acme-staging.fr: {}\n    new.fr: {}\n"
    )
    for args in (
        ("drift", spec, "--format", "json"),
        ("drift", spec, "--format", "html", "--out", str(org.tmp / "drift.html")),
        ("apply", spec, "--auto-approve"),  # new.fr fails: its error passes through redaction
        ("export", "--provider", "messages", str(org.tmp / "exported.yaml")),
    ):
        outputs.append(org.run(*args).output)
    passwords = org.ctl("GET", "passwords/")
    assert set(passwords) == {"alice@acme.fr", "bob@acme.fr"}
    secrets = [
        org.credentials["MESSAGES_API_KEY"],
        org.credentials["MESSAGES_ADMIN_TOKEN"],
        *passwords.values(),
    ]
    haystacks = {
        "outputs": "\n".join(outputs),
        "logs": caplog.text,
        "saved plan": saved.read_text(),
        "drift html": (org.tmp / "drift.html").read_text(),
        "export": (org.tmp / "exported.yaml").read_text(),
        "state": (org.tmp / "state.db").read_bytes().decode("latin-1"),
    }
    for where, text in haystacks.items():
        for secret in secrets:
            assert secret not in text, f"a secret leaked into the {where}"
    assert "Failed to provision domain." in haystacks["outputs"]  # the scan saw real output
    assert (org.tmp / "secrets" / "alice.otp").read_text().strip() == passwords["alice@acme.fr"]
