"""The fingerprint key: the HMAC key of write-only value fingerprints, kept out of the state db.

Resolution order (first that applies wins):

1. ``RECONCILER_FINGERPRINT_KEY``: hex, at least 16 bytes; set it in CI so every runner
   computes the same fingerprints.
2. Derived with HKDF-SHA256 from the first key of ``RECONCILER_SECRET_KEY`` (the Fernet key that
   decrypts ``!encrypted`` spec values), so a team that shares that key shares fingerprints too.
3. A random 32-byte key in ``<state dir>/fingerprint.key``, created once with mode 0600.

The key never goes into the state database: a leaked state file alone cannot be used to test
guesses of a secret against its fingerprint.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from reconciler.errors import StateError

KEY_VARIABLE = "RECONCILER_FINGERPRINT_KEY"
SECRET_KEY_VARIABLE = "RECONCILER_SECRET_KEY"
KEY_FILE = "fingerprint.key"
_HKDF_INFO = b"reconciler fingerprint key v1"


def fingerprint_key(state_dir: Path, env: Mapping[str, str] | None = None) -> bytes:
    """The fingerprint key for a state kept in ``state_dir`` (see the module docstring).

    Raises ``StateError`` on a malformed variable or an unreadable key file; messages never
    contain key material.
    """
    environ = os.environ if env is None else env
    explicit = environ.get(KEY_VARIABLE, "").strip()
    if explicit:
        try:
            key = bytes.fromhex(explicit)
        except ValueError:
            raise StateError(f"{KEY_VARIABLE} is not hexadecimal") from None
        if len(key) < 16:
            raise StateError(f"{KEY_VARIABLE} is too short (at least 16 bytes, 32 hex digits)")
        return key
    first = next(
        (k.strip() for k in environ.get(SECRET_KEY_VARIABLE, "").split(",") if k.strip()), ""
    )
    if first:
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(
            first.encode("utf-8")
        )
    return _key_file(state_dir / KEY_FILE)


def _key_file(path: Path) -> bytes:
    """Read the key file, creating it (mode 0600, exclusively) on first use."""
    try:
        return _read_key(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: two first runs racing each other agree on one key (the loser reads it back).
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_key(path)
    except OSError as exc:
        raise StateError(f"{path}: cannot create fingerprint key file ({exc.strerror})") from None
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(secrets.token_hex(32) + "\n")
    return _read_key(path)


def _read_key(path: Path) -> bytes:
    try:
        text = path.read_text("ascii").strip()
    except FileNotFoundError:
        raise
    except (OSError, UnicodeDecodeError) as exc:
        raise StateError(
            f"{path}: cannot read fingerprint key file ({type(exc).__name__})"
        ) from None
    try:
        key = bytes.fromhex(text)
    except ValueError:
        raise StateError(f"{path}: fingerprint key file is corrupt (expected hex)") from None
    if len(key) < 16:
        raise StateError(f"{path}: fingerprint key file is corrupt (key too short)")
    return key
