"""The applier's keyring and environment keys (docs/phase-api.md#token-key-material, #primitives,
#console-api).

* ``Keyring.recover(token, wrapped_key_share)``: the principal's X25519 keypair from its token's
  share A and the server-held share B (``wrapped_key_share`` from ``GET /secrets/tokens/``,
  unwrapped with the token's wrap key). The public key is checked against the token.
* ``Keyring.unwrap_env(wrapped_seed, wrapped_salt, env_public)``: an environment's seed and salt
  from the ``ph:v1`` ciphertexts addressed to this principal; the seed is checked against the
  environment's public key, so a wrong or corrupt key row is caught before anything is re-wrapped.
* ``EnvSecrets.wrap_for(identity_key)``: seed and salt wrapped for a member's or service
  account's ed25519 identity key (converted to X25519 as the server and console do).
* ``EnvSecrets.decrypt(value)``: a secret value of the environment.

Key material stays in ``bytearray`` buffers inside these objects and is overwritten by
``close()`` (also on ``with`` exit). Python strings handed to libsodium cannot be wiped; they are
kept local to a call. Nothing here formats key material into a message or a ``repr``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from types import TracebackType

from reconciler.crypto import primitives as p
from reconciler.crypto.tokens import PhaseToken
from reconciler.errors import ReconcilerError


class KeyMaterialError(ReconcilerError):
    """Key material is missing, wrong or does not decrypt (message never holds a key)."""


def key_fingerprint(public_hex: str) -> str:
    """A short, stable, non-secret id of a public key: ``sha256:`` + 16 hex characters."""
    return "sha256:" + hashlib.sha256(bytes.fromhex(public_hex)).hexdigest()[:16]


def _wipe(buffer: bytearray) -> None:
    for i in range(len(buffer)):
        buffer[i] = 0


@dataclass(repr=False)
class EnvSecrets:
    """An environment's seed and salt (hex, in wipeable buffers) and its X25519 public key."""

    public: str
    _seed: bytearray = field(repr=False)
    _salt: bytearray = field(repr=False)

    def __repr__(self) -> str:
        return f"EnvSecrets(public={key_fingerprint(self.public)})"

    def wrap_for(self, identity_key: str) -> tuple[str, str]:
        """``(wrapped_seed, wrapped_salt)`` for the holder of ed25519 ``identity_key`` (hex)."""
        try:
            recipient = p.ed25519_pk_to_kx(identity_key)
        except Exception:
            raise KeyMaterialError(
                f"identity key {identity_key[:16]}…: not a valid ed25519 public key"
            ) from None
        return self.wrap_for_kx(recipient)

    def wrap_for_kx(self, recipient_kx_public: str) -> tuple[str, str]:
        """``(wrapped_seed, wrapped_salt)`` for an X25519 public key (the server key)."""
        return (
            p.encrypt_asymmetric(self._seed.decode("ascii"), recipient_kx_public),
            p.encrypt_asymmetric(self._salt.decode("ascii"), recipient_kx_public),
        )

    def decrypt(self, ciphertext: str) -> str:
        """A secret value (``ph:v1`` to the environment's key pair, derived from the seed)."""
        public, private = p.kx_seed_keypair(self._seed.decode("ascii"))
        try:
            return p.decrypt_asymmetric(ciphertext, private, public)
        except Exception:
            raise KeyMaterialError(
                "secret value was not encrypted for this environment or is corrupt"
            ) from None

    def close(self) -> None:
        _wipe(self._seed)
        _wipe(self._salt)


@dataclass(repr=False)
class Keyring:
    """A principal's X25519 keypair, recovered from its token."""

    public: str
    _private: bytearray = field(repr=False)

    def __repr__(self) -> str:
        return f"Keyring(public={key_fingerprint(self.public)})"

    @classmethod
    def recover(cls, token: PhaseToken, wrapped_key_share: str) -> Keyring:
        """Share A (in the token) XOR share B (unwrapped from ``wrapped_key_share``)."""
        try:
            share_b = p.unwrap_share_hex(wrapped_key_share, token.wrap_key)
            private = p.xor_hex(token.share_a, share_b)
        except Exception:
            raise KeyMaterialError(
                "token: the server's key share does not decrypt with this token's wrap key"
            ) from None
        keyring = cls(token.kx_public, bytearray(private.encode("ascii")))
        if not keyring._matches_public():
            keyring.close()
            raise KeyMaterialError(
                "token: recovered private key does not match the token's public key"
            )
        return keyring

    def _matches_public(self) -> bool:
        from nacl.bindings import crypto_scalarmult_base

        derived = crypto_scalarmult_base(bytes.fromhex(self._private.decode("ascii")))
        return derived.hex() == self.public

    def decrypt(self, ciphertext: str) -> str:
        """Unwrap one ``ph:v1`` ciphertext addressed to this keyring."""
        try:
            return p.decrypt_asymmetric(ciphertext, self._private.decode("ascii"), self.public)
        except Exception:
            raise KeyMaterialError(
                "ciphertext was not addressed to this key or is corrupt"
            ) from None

    def unwrap_env(self, wrapped_seed: str, wrapped_salt: str, env_public: str) -> EnvSecrets:
        """Seed and salt of an environment from this principal's key row; checks the seed
        against ``env_public`` (the environment's X25519 public key)."""
        seed = self.decrypt(wrapped_seed)
        salt = self.decrypt(wrapped_salt)
        derived, _ = p.kx_seed_keypair(seed)
        if derived != env_public.lower():
            raise KeyMaterialError(
                "environment key row does not match the environment's public key"
            )
        return EnvSecrets(env_public.lower(), bytearray(seed.encode()), bytearray(salt.encode()))

    def close(self) -> None:
        _wipe(self._private)

    def __enter__(self) -> Keyring:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
