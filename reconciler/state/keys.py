"""The fingerprint key: the HMAC key of write-only value fingerprints.

Resolution order (first that applies wins):

1. ``RECONCILER_FINGERPRINT_KEY``: hex, at least 16 bytes. Always wins when set.
2. ``RECONCILER_SECRET_KEY`` is set (the Fernet key(s) that decrypt ``!encrypted`` spec values):
   the key *sealed in the state store* (a Fernet token, decrypted with any listed key), so every
   runner sharing the store agrees without an extra secret and rotating the Fernet key (new key
   first, old one kept in the list) does not change fingerprints; the token is re-sealed under
   the first key when an older one opened it. On first use the key is derived with HKDF-SHA256
   from the first Fernet key (the key earlier versions used, so their fingerprints stay valid)
   and sealed into the store. Without a store (``sealed=None``) the derived key is used as is.
3. A random 32-byte key in ``<state dir>/fingerprint.key``, created once with mode 0600 (SQLite
   only). A PostgreSQL store has no local directory: it needs 1 or 2 (``StateError``).

The key never goes into the state in plaintext: a leaked state database alone cannot be used to
test guesses of a secret against its fingerprint.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from reconciler.errors import ReconcilerError, StateError

KEY_VARIABLE = "RECONCILER_FINGERPRINT_KEY"
SECRET_KEY_VARIABLE = "RECONCILER_SECRET_KEY"
KEY_FILE = "fingerprint.key"
_HKDF_INFO = b"reconciler fingerprint key v1"


class SealedKeyCell(Protocol):
    """Where a store keeps the sealed fingerprint key (see ``StateStore.sealed_key``)."""

    def sealed_key(self) -> str | None: ...

    def seal_key(self, token: str, *, replace: bool = False) -> str: ...


def fingerprint_key(
    state_dir: Path | None,
    env: Mapping[str, str] | None = None,
    sealed: SealedKeyCell | None = None,
) -> bytes:
    """The fingerprint key for a state kept in ``state_dir`` and/or sealed in a store
    (see the module docstring; ``state_dir=None``: no key file possible).

    Raises ``StateError`` on a malformed variable, an unreadable key file or a sealed key no
    listed Fernet key opens; messages never contain key material.
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
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(
            first.encode("utf-8")
        )
        return derived if sealed is None else _sealed_key(sealed, derived, environ)
    if state_dir is None:
        raise StateError(
            f"this state store keeps no key file: set {SECRET_KEY_VARIABLE} (the fingerprint "
            f"key is then sealed in the store with it) or {KEY_VARIABLE}"
        )
    return _key_file(state_dir / KEY_FILE)


def _sealed_key(cell: SealedKeyCell, derived: bytes, env: Mapping[str, str]) -> bytes:
    """The key sealed in ``cell``, sealing ``derived`` there first when none is kept."""
    ring = _keyring(env)
    token = cell.sealed_key()
    if token is None:
        token = cell.seal_key(seal(derived, env))
    key = unseal(token, env)
    first = env.get(SECRET_KEY_VARIABLE, "").split(",")[0].strip()
    try:
        Fernet(first.encode("ascii")).decrypt(token.encode("ascii"))
    except InvalidToken:
        # Opened by an older key of the list: re-seal under the first so the old can go.
        cell.seal_key(ring.rotate(token.encode("ascii")).decode("ascii"), replace=True)
    return key


def seal(key: bytes, env: Mapping[str, str] | None = None) -> str:
    """``key`` sealed (Fernet-encrypted) with the first key of ``RECONCILER_SECRET_KEY``."""
    ring = _keyring(os.environ if env is None else env)
    return ring.encrypt(key.hex().encode("ascii")).decode("ascii")


def unseal(token: str, env: Mapping[str, str] | None = None) -> bytes:
    """The key in a sealed token (any key of ``RECONCILER_SECRET_KEY`` may open it)."""
    ring = _keyring(os.environ if env is None else env)
    try:
        text = ring.decrypt(token.encode("ascii")).decode("ascii")
        key = bytes.fromhex(text)
    except (InvalidToken, UnicodeError, ValueError):
        raise StateError(
            f"the fingerprint key sealed in the state does not open with any key of "
            f"{SECRET_KEY_VARIABLE}; keep the key it was sealed with in the list "
            f"(comma-separated, newest first) or set {KEY_VARIABLE}"
        ) from None
    if len(key) < 16:
        raise StateError("the fingerprint key sealed in the state is corrupt (key too short)")
    return key


def _keyring(env: Mapping[str, str]) -> MultiFernet:
    from reconciler.secrets.fernet import keyring

    try:
        return keyring(env)
    except ReconcilerError as exc:
        raise StateError(f"cannot seal the fingerprint key: {exc}") from None


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
