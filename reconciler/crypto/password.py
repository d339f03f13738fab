"""Password login material for the Phase console API (GraphQL session,
docs/phase-api.md#console-api).

``password_auth_hash`` is the ``authHash`` that ``POST /auth/password/login/`` takes, as the
contract states it: hex of Argon2id-MODERATE(password, salt = BLAKE2b-16("auth-v1:" + email)).
The sandbox checks it and the provider's console login sends it; both call this function.

A later console revision derives keys differently (``frontend/utils/crypto/users.ts:
deriveAccountKeys``); ``device_key`` and ``auth_hash`` implement that revision, for when a server
running it must be supported:

* ``device_key = Argon2id-MODERATE(password, salt = BLAKE2b-16(email), 32 bytes)``; it unwraps
  the user's keyring, so it never leaves this process;
* ``auth_hash = crypto_kdf_derive_from_key(32, subkey 1, context "phs-v1__", device_key)``, hex:
  the value sent to ``POST /auth/password/login/``.

libsodium's ``crypto_kdf_derive_from_key`` is BLAKE2b with the master key as key, the subkey id
(little-endian, zero-padded to 16 bytes) as salt and the context (zero-padded) as
personalisation; ``hashlib.blake2b`` computes it directly.
"""

from __future__ import annotations

import hashlib
import struct

from nacl import pwhash

KDF_CONTEXT = b"phs-v1__"
SUBKEY_AUTH_HASH = 1


def password_auth_hash(password: str, email: str) -> str:
    """The contract's ``authHash`` (hex); about a second and 256 MiB by design."""
    salt = hashlib.blake2b(f"auth-v1:{email}".encode(), digest_size=16).digest()
    return pwhash.argon2id.kdf(
        32,
        password.encode("utf-8"),
        salt,
        opslimit=pwhash.argon2id.OPSLIMIT_MODERATE,
        memlimit=pwhash.argon2id.MEMLIMIT_MODERATE,
    ).hex()


def email_salt(email: str) -> bytes:
    """BLAKE2b-16 of the email (the console's ``saltFromString``)."""
    return hashlib.blake2b(email.encode("utf-8"), digest_size=16).digest()


def kdf_derive(master: bytes, subkey_id: int, context: bytes, size: int = 32) -> bytes:
    """libsodium ``crypto_kdf_derive_from_key`` (BLAKE2b-based, 8-byte context)."""
    if len(context) != 8:
        raise ValueError("kdf context must be 8 bytes")
    salt = struct.pack("<Q", subkey_id) + bytes(8)
    return hashlib.blake2b(
        b"", digest_size=size, key=master, salt=salt, person=context + bytes(8)
    ).digest()


def device_key(password: str, email: str) -> bytes:
    """Argon2id-MODERATE(password, BLAKE2b-16(email)); about a second and 256 MiB by design."""
    return pwhash.argon2id.kdf(
        32,
        password.encode("utf-8"),
        email_salt(email),
        opslimit=pwhash.argon2id.OPSLIMIT_MODERATE,
        memlimit=pwhash.argon2id.MEMLIMIT_MODERATE,
    )


def auth_hash(password: str, email: str) -> str:
    """The hex ``authHash`` a password login sends (never the password itself)."""
    return kdf_derive(device_key(password, email), SUBKEY_AUTH_HASH, KDF_CONTEXT).hex()
