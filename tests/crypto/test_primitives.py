"""Known answers (computed once with libsodium) and round trips for the Phase primitives."""

from __future__ import annotations

import pytest

from reconciler.crypto import primitives as p

BLOB = (
    "141695dc900ef9eae643f860d0902645c2d526ceaae18bb63356086465666768696a6b6c6d6e6f70717273747576"
    "7778797a7b"
)
ED_SK = "22" * 32 + "a09aa5f47a6759802ff955f8dc2d2a14a5c99d23be97f864127ff9383455a4f0"
ED_PK = "a09aa5f47a6759802ff955f8dc2d2a14a5c99d23be97f864127ff9383455a4f0"


def test_xchacha_known_answer_and_round_trip() -> None:
    key = bytes(range(32))
    assert p.decrypt_raw(bytes.fromhex(BLOB), key) == "hello phase"
    blob = p.encrypt_raw("é ok", key)
    assert len(blob) == len("é ok".encode()) + 16 + 24 and p.decrypt_raw(blob, key) == "é ok"
    assert p.decrypt_string(p.encrypt_string("x", key), key) == "x"
    with pytest.raises(p.CryptoError, match="does not decrypt"):
        p.decrypt_raw(bytes.fromhex(BLOB), bytes(32))


def test_kx_seed_keypair_known_answer() -> None:
    assert p.kx_seed_keypair("11" * 32) == (
        "cb8403d9e0857b55c47ff233b6b4379588c9644aababb2588027bf7188b98217",
        "d4ffaeeac45aa41825e0bc3f875570af061acbf0b950ad752ff0f9463fe13ad5",
    )


def test_ed25519_to_x25519_known_answers() -> None:
    assert p.ed25519_pk_to_kx(ED_PK) == (
        "9d8d78b9c9e6661e552f2f1af02095ee2f8743fa2e6183f41bb7077ef51b5379"
    )
    assert p.ed25519_sk_to_kx(ED_SK) == (
        "68c3eb1cd6dbdd0037d503e6655229500a83f464be62ca753bff884c43788778"
    )
    with pytest.raises(p.CryptoError):
        p.ed25519_pk_to_kx("00" * 31)


def test_blake2b_secret_key_digest_known_answer() -> None:
    assert p.blake2b_digest("API_KEY", "33" * 32) == (
        "1213ef7dcbdeaf0244a652df5e58f567a7511e77c62b4cf9771085b0422e3140"
    )


def test_asymmetric_wrap_round_trip_for_a_console_identity() -> None:
    pk, sk = p.sign_keypair()
    ct = p.encrypt_asymmetric("seed-hex", p.ed25519_pk_to_kx(pk))
    assert ct.startswith("ph:v1:") and len(ct.split(":")[2]) == 64
    assert p.decrypt_asymmetric(ct, p.ed25519_sk_to_kx(sk), p.ed25519_pk_to_kx(pk)) == "seed-hex"
    other_pk, other_sk = p.kx_keypair()
    with pytest.raises(p.CryptoError):
        p.decrypt_asymmetric(ct, other_sk, other_pk)
    with pytest.raises(p.CryptoError, match="not a ph:v1"):
        p.decrypt_asymmetric("ph:v2:aa:bb", other_sk, other_pk)


def test_key_share_split_and_wrap() -> None:
    secret = p.random_hex()
    a, b = p.split_secret_hex(secret)
    assert p.xor_hex(a, b) == secret and a != secret
    wrap_key = p.random_hex()
    assert p.unwrap_share_hex(p.wrap_share_hex(b, wrap_key), wrap_key) == b
