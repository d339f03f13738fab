"""Fernet encryption of spec values at rest (``!encrypted <token>``).

Keys come from ``RECONCILER_SECRET_KEY``: one Fernet key, or several separated by commas for
rotation. The first key encrypts; every key is tried to decrypt (``MultiFernet``), so a new key
can be put first while old tokens still decrypt, and ``rotate`` re-encrypts a token under the
first key.

Every error raised here is a ``SecretsError`` whose message names the variable and the problem,
never a key or a plaintext.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from reconciler.errors import ReconcilerError

KEY_VARIABLE = "RECONCILER_SECRET_KEY"


class SecretsError(ReconcilerError):
    """A key is missing or invalid, or a token cannot be decrypted. Never holds secret text."""


class MissingKeyError(SecretsError):
    """``RECONCILER_SECRET_KEY`` is not set: nothing says whether a token is good or bad."""


def generate_key() -> str:
    """A new random Fernet key (url-safe base64 of 32 bytes), suitable for
    ``RECONCILER_SECRET_KEY``."""
    return Fernet.generate_key().decode("ascii")


def keyring(env: Mapping[str, str] | None = None) -> MultiFernet:
    """The ``MultiFernet`` of the keys in ``RECONCILER_SECRET_KEY`` (first key encrypts).

    Raises ``SecretsError`` when the variable is unset or empty, or an entry is not a valid key.
    """
    environ = os.environ if env is None else env
    raw = environ.get(KEY_VARIABLE, "")
    entries = [part.strip() for part in raw.split(",") if part.strip()]
    if not entries:
        raise MissingKeyError(f"{KEY_VARIABLE} is not set (needed for !encrypted values)")
    keys: list[Fernet] = []
    for index, entry in enumerate(entries, start=1):
        try:
            keys.append(Fernet(entry.encode("ascii")))
        except (ValueError, UnicodeEncodeError):
            # The message must not echo the entry: it is (meant to be) a key.
            where = f"entry {index} of {KEY_VARIABLE}" if len(entries) > 1 else KEY_VARIABLE
            raise SecretsError(
                f"{where} is not a valid Fernet key (url-safe base64 of 32 bytes)"
            ) from None
    return MultiFernet(keys)


def encrypt(plaintext: str, env: Mapping[str, str] | None = None) -> str:
    """Encrypt ``plaintext`` with the first key of ``RECONCILER_SECRET_KEY``; returns the token
    to write after ``!encrypted`` in a spec. ``env`` defaults to ``os.environ``."""
    return keyring(env).encrypt(plaintext.encode("utf-8")).decode("ascii")


def decrypt(token: str, env: Mapping[str, str] | None = None) -> str:
    """Decrypt a token with any key of ``RECONCILER_SECRET_KEY``.

    Raises ``SecretsError`` when a key is missing or invalid, or no key decrypts the token
    (wrong key, corrupted or truncated token).
    """
    return decrypt_with(keyring(env), token)


def decrypt_with(ring: MultiFernet, token: str) -> str:
    """Decrypt a token with an already built keyring (see ``decrypt``)."""
    try:
        data = ring.decrypt(token.strip().encode("ascii"))
    except (InvalidToken, UnicodeEncodeError):
        raise SecretsError(
            f"cannot decrypt !encrypted value: not a token for any key in {KEY_VARIABLE} "
            "(wrong key, or the token is corrupted)"
        ) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise SecretsError("!encrypted value does not decrypt to UTF-8 text") from None


def rotate(token: str, env: Mapping[str, str] | None = None) -> str:
    """Re-encrypt a token under the first key (it may have been made with any listed key)."""
    ring = keyring(env)
    try:
        return ring.rotate(token.strip().encode("ascii")).decode("ascii")
    except (InvalidToken, UnicodeEncodeError):
        raise SecretsError(
            f"cannot rotate !encrypted value: not a token for any key in {KEY_VARIABLE}"
        ) from None
