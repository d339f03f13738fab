"""Keyring recovery from a token and environment key unwrap/re-wrap, built the way the Phase
console and server build them (libsodium through PyNaCl), independently of our primitives."""

from __future__ import annotations

import base64
import os

import nacl.bindings as sodium
import pytest

from reconciler.crypto.keyring import KeyMaterialError, Keyring, key_fingerprint
from reconciler.crypto.tokens import parse_token


def encrypt_raw(plaintext: str, key: bytes) -> bytes:
    nonce = os.urandom(24)
    ct = sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(plaintext.encode(), None, nonce, key)
    return ct + nonce


def wrap(plaintext: str, recipient_kx_pub: bytes) -> str:
    """The server's ``encrypt_asymmetric`` (docs/phase-api.md#primitives)."""
    eph_pk, eph_sk = sodium.crypto_kx_keypair()
    _rx, tx = sodium.crypto_kx_client_session_keys(eph_pk, eph_sk, recipient_kx_pub)
    body = base64.b64encode(encrypt_raw(plaintext, tx)).decode()
    return f"ph:v1:{eph_pk.hex()}:{body}"


def unwrap(ciphertext: str, kx_pk: bytes, kx_sk: bytes) -> str:
    _, _, eph, body = ciphertext.split(":")
    rx, _tx = sodium.crypto_kx_server_session_keys(kx_pk, kx_sk, bytes.fromhex(eph))
    blob = base64.b64decode(body)
    return sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(
        blob[:-24], None, blob[-24:], rx
    ).decode()


class Principal:
    """A member as the console makes one: ed25519 identity, X25519 keys derived from it, and a
    PAT whose private key is split into two XOR shares."""

    def __init__(self) -> None:
        self.ed_pk, self.ed_sk = sodium.crypto_sign_keypair()
        self.kx_pk = sodium.crypto_sign_ed25519_pk_to_curve25519(self.ed_pk)
        self.kx_sk = sodium.crypto_sign_ed25519_sk_to_curve25519(self.ed_sk)
        share_a = os.urandom(32)
        share_b = bytes(x ^ y for x, y in zip(share_a, self.kx_sk, strict=True))
        self.wrap_key = os.urandom(32)
        self.wrapped_share = encrypt_raw(share_b.hex(), self.wrap_key).hex()
        self.token = (
            f"pss_user:v1:{os.urandom(32).hex()}:{self.kx_pk.hex()}:{share_a.hex()}:"
            f"{self.wrap_key.hex()}"
        )


def environment() -> tuple[str, str, str]:
    seed, salt = os.urandom(32).hex(), os.urandom(32).hex()
    env_pub, _ = sodium.crypto_kx_seed_keypair(bytes.fromhex(seed))
    return seed, salt, env_pub.hex()


def test_recover_unwrap_and_rewrap_for_another_member() -> None:
    applier, grantee = Principal(), Principal()
    seed, salt, env_pub = environment()
    with Keyring.recover(parse_token(applier.token), applier.wrapped_share) as keyring:
        assert keyring.public == applier.kx_pk.hex()
        env = keyring.unwrap_env(wrap(seed, applier.kx_pk), wrap(salt, applier.kx_pk), env_pub)
        wrapped_seed, wrapped_salt = env.wrap_for(grantee.ed_pk.hex())
        env.close()
    assert wrapped_seed.startswith("ph:v1:") and seed not in wrapped_seed
    # the grantee opens them with its own key, exactly as the console would
    assert unwrap(wrapped_seed, grantee.kx_pk, grantee.kx_sk) == seed
    assert unwrap(wrapped_salt, grantee.kx_pk, grantee.kx_sk) == salt
    assert seed not in repr(env) and key_fingerprint(env_pub) in repr(env)


def test_close_wipes_key_buffers() -> None:
    applier = Principal()
    keyring = Keyring.recover(parse_token(applier.token), applier.wrapped_share)
    keyring.close()
    assert set(keyring._private) == {0}


def test_wrong_wrap_key_or_mismatched_share_is_refused_without_key_material() -> None:
    one, two = Principal(), Principal()
    with pytest.raises(KeyMaterialError) as info:
        Keyring.recover(parse_token(one.token), two.wrapped_share)
    assert one.wrap_key.hex() not in str(info.value)
    # a share that decrypts but belongs to another key fails the public-key check
    forged = encrypt_raw("00" * 32, one.wrap_key).hex()
    with pytest.raises(KeyMaterialError, match="does not match"):
        Keyring.recover(parse_token(one.token), forged)


def test_key_row_for_another_environment_is_caught() -> None:
    applier = Principal()
    seed, salt, _ = environment()
    _, _, other_pub = environment()
    with Keyring.recover(parse_token(applier.token), applier.wrapped_share) as keyring:
        with pytest.raises(KeyMaterialError, match="does not match the environment"):
            keyring.unwrap_env(wrap(seed, applier.kx_pk), wrap(salt, applier.kx_pk), other_pub)
        with pytest.raises(KeyMaterialError, match="not addressed to this key"):
            keyring.decrypt(wrap(seed, Principal().kx_pk))


def test_invalid_identity_key_is_refused() -> None:
    applier = Principal()
    seed, salt, env_pub = environment()
    with Keyring.recover(parse_token(applier.token), applier.wrapped_share) as keyring:
        env = keyring.unwrap_env(wrap(seed, applier.kx_pk), wrap(salt, applier.kx_pk), env_pub)
        with pytest.raises(KeyMaterialError, match="not a valid ed25519 public key"):
            env.wrap_for("00" * 32)
