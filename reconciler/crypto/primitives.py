"""Phase-compatible cryptographic primitives over libsodium (PyNaCl), docs/phase-api.md#primitives.

Every function is byte-compatible with the Phase server (``api/utils/crypto.py``) and console
(``frontend/utils/crypto/*.ts``). Keys and plaintexts are hex or UTF-8 strings as Phase handles
them. Failures raise ``CryptoError`` with a generic message: no key, nonce or plaintext is ever
put into an exception.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os

import nacl.bindings as sodium
import nacl.exceptions

from reconciler.errors import ReconcilerError

NONCE_BYTES = 24  # crypto_secretbox_NONCEBYTES, appended after ciphertext and tag
PREFIX = "ph:v1:"


class CryptoError(ReconcilerError):
    """A ciphertext or key is malformed or does not match (message holds no key material)."""


def random_hex(nbytes: int = 32) -> str:
    """``nbytes`` random bytes as lowercase hex (env seeds and salts, token parts)."""
    return os.urandom(nbytes).hex()


def encrypt_raw(plaintext: str, key: bytes) -> bytes:
    """XChaCha20-Poly1305-IETF without AAD; returns ``ciphertext ‖ tag ‖ nonce(24)``."""
    nonce = os.urandom(NONCE_BYTES)
    sealed = sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(
        plaintext.encode("utf-8"), None, nonce, key
    )
    return bytes(sealed) + nonce


def decrypt_raw(blob: bytes, key: bytes) -> str:
    """Inverse of ``encrypt_raw``; raises ``CryptoError`` when it does not authenticate."""
    if len(blob) < NONCE_BYTES + 16:
        raise CryptoError("ciphertext too short")
    try:
        plain = sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(
            blob[:-NONCE_BYTES], None, blob[-NONCE_BYTES:], key
        )
        return bytes(plain).decode("utf-8")
    except (nacl.exceptions.CryptoError, nacl.exceptions.TypeError, ValueError):
        raise CryptoError("ciphertext does not decrypt with this key") from None


def encrypt_string(plaintext: str, key: bytes) -> str:
    """Standard padded base64 of ``encrypt_raw``."""
    return base64.b64encode(encrypt_raw(plaintext, key)).decode("ascii")


def decrypt_string(text: str, key: bytes) -> str:
    """Inverse of ``encrypt_string``."""
    try:
        blob = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise CryptoError("ciphertext is not base64") from None
    return decrypt_raw(blob, key)


def _unhex(value: str, size: int, what: str) -> bytes:
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        raise CryptoError(f"{what} is not hex") from None
    if len(raw) != size:
        raise CryptoError(f"{what} must be {size} bytes")
    return raw


def kx_seed_keypair(seed_hex: str) -> tuple[str, str]:
    """``crypto_kx_seed_keypair``: ``(pk_hex, sk_hex)`` of an environment seed."""
    pk, sk = sodium.crypto_kx_seed_keypair(_unhex(seed_hex, 32, "seed"))
    return bytes(pk).hex(), bytes(sk).hex()


def kx_keypair() -> tuple[str, str]:
    """A random X25519 key-exchange keypair ``(pk_hex, sk_hex)``."""
    pk, sk = sodium.crypto_kx_keypair()
    return bytes(pk).hex(), bytes(sk).hex()


def sign_keypair() -> tuple[str, str]:
    """A random ed25519 identity keypair ``(pk_hex 32 bytes, sk_hex 64 bytes)``."""
    pk, sk = sodium.crypto_sign_keypair()
    return bytes(pk).hex(), bytes(sk).hex()


def ed25519_pk_to_kx(ed_pk_hex: str) -> str:
    """``crypto_sign_ed25519_pk_to_curve25519``; invalid or small-order points are refused."""
    try:
        return bytes(
            sodium.crypto_sign_ed25519_pk_to_curve25519(_unhex(ed_pk_hex, 32, "identity key"))
        ).hex()
    except (nacl.exceptions.RuntimeError, nacl.exceptions.CryptoError, ValueError):
        raise CryptoError("identity key is not a valid ed25519 public key") from None


def ed25519_sk_to_kx(ed_sk_hex: str) -> str:
    """``crypto_sign_ed25519_sk_to_curve25519`` of a 64-byte ed25519 secret key."""
    raw = _unhex(ed_sk_hex, 64, "signing key")
    return bytes(sodium.crypto_sign_ed25519_sk_to_curve25519(raw)).hex()


def encrypt_asymmetric(plaintext: str, recipient_kx_pub_hex: str) -> str:
    """Wrap for an X25519 public key: ``ph:v1:<ephemeral pk hex>:<base64 ciphertext>``.

    Ephemeral ``crypto_kx`` keypair; the client ``tx`` session key encrypts.
    """
    recipient = _unhex(recipient_kx_pub_hex, 32, "recipient key")
    eph_pk, eph_sk = sodium.crypto_kx_keypair()
    try:
        _rx, tx = sodium.crypto_kx_client_session_keys(eph_pk, eph_sk, recipient)
    except nacl.exceptions.CryptoError:
        raise CryptoError("recipient key is not usable") from None
    return f"{PREFIX}{bytes(eph_pk).hex()}:{encrypt_string(plaintext, tx)}"


def decrypt_asymmetric(ciphertext: str, my_kx_sk_hex: str, my_kx_pk_hex: str) -> str:
    """Unwrap a ``ph:v1`` ciphertext with the recipient's X25519 keypair (server session keys)."""
    parts = ciphertext.split(":")
    if len(parts) != 4 or parts[0] != "ph" or parts[1] != "v1":
        raise CryptoError("not a ph:v1 ciphertext")
    eph = _unhex(parts[2], 32, "ephemeral key")
    my_sk = _unhex(my_kx_sk_hex, 32, "private key")
    my_pk = _unhex(my_kx_pk_hex, 32, "public key")
    try:
        rx, _tx = sodium.crypto_kx_server_session_keys(my_pk, my_sk, eph)
    except nacl.exceptions.CryptoError:
        raise CryptoError("ciphertext key exchange failed") from None
    return decrypt_string(parts[3], rx)


def blake2b_digest(key: str, salt_hex: str) -> str:
    """Secret key digest: BLAKE2b-256 of ``key`` keyed by the salt's 64 ASCII hex bytes."""
    return hashlib.blake2b(
        key.encode("utf-8"), digest_size=32, key=salt_hex.encode("utf-8")
    ).hexdigest()


def _hex(value: str, what: str) -> bytes:
    try:
        return bytes.fromhex(value)
    except (ValueError, TypeError):
        raise CryptoError(f"{what} is not hex") from None


def xor_hex(a_hex: str, b_hex: str) -> str:
    """Bytewise XOR of two equal-length hex strings."""
    a, b = _hex(a_hex, "key share"), _hex(b_hex, "key share")
    if len(a) != len(b):
        raise CryptoError("key shares differ in length")
    return bytes(x ^ y for x, y in zip(a, b, strict=True)).hex()


def split_secret_hex(secret_hex: str) -> tuple[str, str]:
    """XOR split: ``(share_a, share_b)`` with ``share_a`` random and ``a ^ b == secret``."""
    share_a = random_hex(len(_hex(secret_hex, "secret")))
    return share_a, xor_hex(share_a, secret_hex)


def wrap_share_hex(share_hex: str, wrap_key_hex: str) -> str:
    """``hex(encrypt_raw(share_hex, wrap_key))``: the server-held half of a token's key."""
    return encrypt_raw(share_hex, _unhex(wrap_key_hex, 32, "wrap key")).hex()


def unwrap_share_hex(wrapped_hex: str, wrap_key_hex: str) -> str:
    """Inverse of ``wrap_share_hex``."""
    try:
        blob = bytes.fromhex(wrapped_hex)
    except ValueError:
        raise CryptoError("wrapped key share is not hex") from None
    return decrypt_raw(blob, _unhex(wrap_key_hex, 32, "wrap key"))
