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


# Fixed ciphertexts produced once with libsodium (PyNaCl); decrypting them pins the formats.
RECIPIENT_SEED = "44" * 32
WRAPPED = (
    "ph:v1:2316a95865f49c27dc9bdf25cfeec4a12fc6fe600b036e352bbeb982528a2008:"
    "/eYeij6Qb6ez/uoL99tnZ4N8uozRzLfGR4xblU88HzMtO6KEOi1cGnwJUogRoa3XIPjiBP4z8H8lfaVy9JZVKUqhMjJ4"
    "6K/4uWJgOEaFDVeMs2r2ZGPghCd8ji9RpYfPtHXxBbfpPL4="
)
STRING = "vr4vvf7X5RXYzrSgRZRekC2/hshClaJCihp21F73rpSFuEslPUlAnI7RdiP0"
SHARE = (
    "01217c9205785ad374bc0577bc79612393c197269dcf041bf6298f18550323bcd02b6e8417a16e3d5b96fc5d"
    "6494b6997bb8beec279fd1fc562f5cc9ca7a51929c56a8f84b947a7b23c68975e0da4da73a0cf58c152b4a66"
    "3a0aeba1e19fb6aea65939bf7c535f14"
)


def test_asymmetric_known_answer() -> None:
    pk, sk = p.kx_seed_keypair(RECIPIENT_SEED)
    assert p.decrypt_asymmetric(WRAPPED, sk, pk) == "0123abcd" * 8
    # the recipient's own public key is hashed into the session key
    other_pk, _ = p.kx_keypair()
    with pytest.raises(p.CryptoError):
        p.decrypt_asymmetric(WRAPPED, sk, other_pk)


def test_string_and_share_known_answers() -> None:
    assert p.decrypt_string(STRING, bytes(range(32))) == "phase"
    assert p.unwrap_share_hex(SHARE, "55" * 32) == "ab" * 32
    assert p.xor_hex("0f0f", "ff00") == "f00f"
    with pytest.raises(p.CryptoError, match="not base64"):
        p.decrypt_string("%%%", bytes(32))


def test_errors_never_carry_key_material() -> None:
    pk, sk = p.kx_seed_keypair(RECIPIENT_SEED)
    wrong_pk, wrong_sk = p.kx_keypair()
    failures = [
        lambda: p.decrypt_asymmetric(WRAPPED, wrong_sk, wrong_pk),
        lambda: p.decrypt_asymmetric(WRAPPED, sk[:10], pk),
        lambda: p.unwrap_share_hex(SHARE, "66" * 32),
        lambda: p.kx_seed_keypair("zz" * 32),
        lambda: p.xor_hex("00", "0000"),
        lambda: p.xor_hex(sk, "not hex"),
        lambda: p.split_secret_hex("not hex"),
    ]
    for failure in failures:
        with pytest.raises(p.CryptoError) as caught:
            failure()
        text = str(caught.value)
        for secret in (sk, wrong_sk, "66" * 32, sk[:10]):
            assert secret not in text
