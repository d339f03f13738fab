"""SecretField refuses inline values; redaction masks plaintexts."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError

from reconciler.errors import SpecErrors
from reconciler.secrets.field import Reference, SecretField
from reconciler.secrets.redact import redact
from reconciler.secrets.value import Secret
from reconciler.spec.load import load_spec


class Holder(BaseModel):
    token: SecretField


def test_secret_field_accepts_references_only() -> None:
    assert Holder(token=Reference("abc")).token.reveal() == "abc"  # type: ignore[arg-type]
    with pytest.raises(ValidationError) as info:
        Holder(token="abc")  # type: ignore[arg-type]
    assert "must not be written inline" in info.value.errors()[0]["msg"]


def test_inline_secret_in_a_spec_is_refused_without_echo(tmp_path: Path) -> None:
    f = tmp_path / "s.yaml"
    f.write_text(
        "version: 1\nmemory:\n  connection: {path: x}\n  groups: {g: {}}\n"
        "  items: {i: {group: g, token: inline-Pa55}}\n",
        encoding="utf-8",
    )
    with pytest.raises(SpecErrors) as info:
        load_spec(f, env={})
    assert str(info.value) == (
        f"{f}:5:25: secret values must not be written inline; use ${{env:NAME}}, "
        "${file:path} or !encrypted <token>"
    )
    assert "inline-Pa55" not in str(info.value)


def test_redact_masks_every_occurrence_longest_first() -> None:
    text = "token abc123 and abc and abc123 again"
    out = redact(text, [Secret("abc"), Secret("abc123"), Secret("")])
    assert out == "token (sensitive) and (sensitive) and (sensitive) again"


def test_redact_without_secrets_is_identity() -> None:
    assert redact("nothing here", []) == "nothing here"
