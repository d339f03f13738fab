"""Spec errors of the ``messages:`` section: file:line:col, nothing contacted."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.errors import SpecErrors
from reconciler.providers.messages.compile import canonical_domain, email
from reconciler.spec.load import load_spec

HEAD = """\
version: 1
messages:
  connection:
    url: https://mail.example/api/v1.0/
    channel_id: c
    api_key: ${env:KEY}
"""
ENV = {"KEY": "k" * 16, "TOKEN": "t" * 16}


def _errors(tmp_path: Path, body: str) -> list[str]:
    path = tmp_path / "spec.yaml"
    path.write_text(HEAD + body)
    with pytest.raises(SpecErrors) as info:
        load_spec(path, env=ENV)
    return [str(e) for e in info.value.errors]


def test_names_compare_as_the_server_stores_them() -> None:
    assert canonical_domain(" Café.FR. ") == "xn--caf-dma.fr"
    assert email("Alice@ACME.fr") == "alice@acme.fr"


def test_admins_and_mailboxes_need_the_admin_token(tmp_path: Path) -> None:
    found = _errors(
        tmp_path,
        "  domains:\n    acme.fr:\n      admins: [a@acme.fr]\n"
        "      mailboxes: {x: {type: shared, name: X}}\n",
    )
    assert any(":9:" in e and "admin_token" in e for e in found), found
    assert any(":10:" in e and "admin_token" in e for e in found), found


def test_deploycenter_refuses_admins_and_domains_cannot_be_pruned(tmp_path: Path) -> None:
    found = _errors(
        tmp_path,
        "    admin_token: ${env:TOKEN}\n  entitlements: deploycenter\n  prune: [domains, admins]\n"
        "  domains:\n    acme.fr:\n      admins: [a@acme.fr]\n",
    )
    assert any(":9:" in e and "the API has no delete" in e for e in found), found
    assert any("admins cannot be pruned" in e for e in found), found
    assert any(":12:" in e and "DeployCenter owns domain admins" in e for e in found), found


def test_same_domain_twice_and_a_bad_local_part(tmp_path: Path) -> None:
    found = _errors(
        tmp_path,
        "    admin_token: ${env:TOKEN}\n  domains:\n    acme.fr: {}\n    ACME.fr: {}\n"
        "    b.fr:\n      mailboxes:\n        'no way': {type: shared}\n",
    )
    text = "\n".join(found)
    assert ":10:" in text and "'ACME.fr' and 'acme.fr' are the same domain" in text
    assert ":13:" in text and "a local part is letters" in text


def test_mailbox_fields_follow_its_type(tmp_path: Path) -> None:
    found = _errors(
        tmp_path,
        "    admin_token: ${env:TOKEN}\n  domains:\n    b.fr:\n      mailboxes:\n"
        "        p: {type: personal, first_name: P}\n"
        "        s: {type: shared, access: {x@b.fr: owner}}\n",
    )
    text = "\n".join(found)
    assert ":11:" in text and "needs first_name and last_name" in text
    assert ":12:" in text and "'viewer', 'editor', 'sender' or 'admin'" in text


def test_api_key_is_never_inline(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(HEAD.replace("${env:KEY}", "plaintext-key") + "  domains: {}\n")
    with pytest.raises(SpecErrors) as info:
        load_spec(path, env=ENV)
    assert "must not be written inline" in str(info.value.errors[0])
    assert "plaintext-key" not in str(info.value.errors[0])
