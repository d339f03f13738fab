"""Token parsing and password-login derivations, with vectors computed by libsodium."""

from __future__ import annotations

import nacl.bindings as sodium
import pytest

from reconciler.crypto.password import KDF_CONTEXT, auth_hash, email_salt, kdf_derive
from reconciler.crypto.tokens import TokenError, parse_token

H = ["a" * 64, "B" * 64, "c" * 64, "d" * 64]


def test_user_and_service_tokens_parse_without_showing_secrets() -> None:
    user = parse_token(f"pss_user:v1:{H[0]}:{H[1]}:{H[2]}:{H[3]}")
    assert user.kind == "user" and user.authorization() == f"Bearer User {'a' * 64}"
    assert user.kx_public == "b" * 64  # normalised to lower case
    assert "a" * 64 not in repr(user) and "c" * 64 not in repr(user)
    sa = parse_token(f"pss_service:v2:{H[0]}:{H[1]}:{H[2]}:{H[3]}\n")
    assert sa.auth_type == "ServiceAccount"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (f"pss_service:v1:{H[0]}:{H[1]}:{H[2]}:{H[3]}", "legacy pss_service:v1"),
        (f"pss_user:v2:{H[0]}:{H[1]}:{H[2]}:{H[3]}", "unsupported token version"),
        (f"pss_user:v1:{H[0]}:{H[1]}:{H[2]}", "not a Phase token"),
        ("Bearer something-secret", "not a Phase token"),
    ],
)
def test_bad_tokens_are_refused_without_echoing_them(text: str, message: str) -> None:
    with pytest.raises(TokenError) as info:
        parse_token(text)
    assert message in str(info.value)
    assert "a" * 64 not in str(info.value) and "something-secret" not in str(info.value)


def test_kdf_matches_libsodium_blake2b_salt_personal() -> None:
    master = bytes(range(32))
    ours = kdf_derive(master, 1, KDF_CONTEXT)
    theirs = sodium.crypto_generichash_blake2b_salt_personal(
        b"",
        32,
        key=master,
        salt=(1).to_bytes(8, "little") + bytes(8),
        person=KDF_CONTEXT + bytes(8),
    )
    assert ours == theirs
    assert ours.hex() == "098d5b536652ae7f6075f536f6e0a7446d96e2fdef64b2b317bcace36fab895e"
    with pytest.raises(ValueError):
        kdf_derive(master, 1, b"short")


def test_auth_hash_known_answer() -> None:
    assert email_salt("owner@acme.io").hex() == "3f0e26391af2baa9f2838952fe5cecca"
    assert auth_hash("pw", "a@b.c") == (
        "d8802eb37eb939aa261b261af3c7f8274fd1284d3e029e1301db788687b63880"
    )
