"""Fernet secrets at rest: round trip, rotation with MultiFernet, and safe error messages."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from reconciler.secrets import fernet
from reconciler.secrets.fernet import SecretsError, decrypt, encrypt, generate_key, rotate

VAR = "RECONCILER_SECRET_KEY"


def test_generate_key_is_a_fernet_key() -> None:
    key = generate_key()
    assert isinstance(key, str) and key != generate_key()
    Fernet(key.encode())


def test_round_trip() -> None:
    env = {VAR: generate_key()}
    token = encrypt("pässwörd ✓", env=env)
    assert "pässwörd" not in token
    assert decrypt(token, env=env) == "pässwörd ✓"
    assert decrypt(f"  {token}\n", env=env) == "pässwörd ✓"


def test_rotation_first_key_encrypts_all_keys_decrypt() -> None:
    old, new = generate_key(), generate_key()
    old_token = encrypt("s", env={VAR: old})
    rotated_env = {VAR: f"{new}, {old}"}
    assert decrypt(old_token, env=rotated_env) == "s"
    new_token = encrypt("s", env=rotated_env)
    assert decrypt(new_token, env={VAR: new}) == "s"
    with pytest.raises(SecretsError):
        decrypt(new_token, env={VAR: old})
    moved = rotate(old_token, env=rotated_env)
    assert decrypt(moved, env={VAR: new}) == "s"


def test_default_env_is_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(VAR, generate_key())
    assert decrypt(encrypt("x")) == "x"


@pytest.mark.parametrize("value", ["", " , ", None])
def test_missing_key(value: str | None) -> None:
    env = {} if value is None else {VAR: value}
    with pytest.raises(SecretsError, match=f"^{VAR} is not set"):
        encrypt("x", env=env)


def test_invalid_key_message_does_not_echo_the_key() -> None:
    bad = "not-a-key-but-maybe-a-secret"
    with pytest.raises(SecretsError) as info:
        fernet.keyring({VAR: bad})
    assert str(info.value) == f"{VAR} is not a valid Fernet key (url-safe base64 of 32 bytes)"
    with pytest.raises(SecretsError) as info:
        fernet.keyring({VAR: f"{generate_key()},{bad}"})
    assert str(info.value).startswith(f"entry 2 of {VAR} is not a valid Fernet key")
    assert bad not in str(info.value)


@pytest.mark.parametrize("token", ["garbage", "gAAAAA", "é", ""])
def test_bad_token(token: str) -> None:
    with pytest.raises(SecretsError) as info:
        decrypt(token, env={VAR: generate_key()})
    assert str(info.value).startswith("cannot decrypt !encrypted value")


def test_wrong_key_message_has_no_plaintext_or_key() -> None:
    key, other = generate_key(), generate_key()
    token = encrypt("the-plaintext", env={VAR: key})
    with pytest.raises(SecretsError) as info:
        decrypt(token, env={VAR: other})
    text = str(info.value)
    assert "the-plaintext" not in text and key not in text and other not in text


def test_rotate_bad_token() -> None:
    with pytest.raises(SecretsError, match="cannot rotate"):
        rotate("garbage", env={VAR: generate_key()})
