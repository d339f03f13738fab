"""StateStore: the interface every state backend implements (SQLite now, PostgreSQL later).

What it holds, and nothing else:

* ``ids``: server ids of objects the API cannot find by name (create-only APIs, ``id:`` pins,
  duplicate names) keyed by address;
* ``fingerprints``: keyed HMACs of write-only values last applied, keyed by (address, attribute),
  so a masked value read back from an API can still be compared;
* ``records``: small non-secret JSON facts a provider needs across runs (e.g. when a token was
  minted), keyed by (address, key);
* ``lock``: one apply at a time per organisation target.

The HMAC key used for fingerprints is ``fingerprint_key``; it is not stored in the state file.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Protocol

from reconciler.address import Address
from reconciler.model.resource import JSON


class StateStore(Protocol):
    """Persistent, non-secret facts about managed objects; see the module docstring."""

    @property
    def fingerprint_key(self) -> bytes:
        """Key for ``Secret.fingerprint``; stable across runs for one installation."""
        ...

    def get_id(self, address: Address) -> str | None: ...

    def set_id(self, address: Address, server_id: str) -> None: ...

    def get_fingerprint(self, address: Address, attribute: str) -> str | None: ...

    def set_fingerprint(self, address: Address, attribute: str, fingerprint: str) -> None: ...

    def get_record(self, address: Address, key: str) -> JSON: ...

    def set_record(self, address: Address, key: str, value: JSON) -> None: ...

    def forget(self, address: Address) -> None:
        """Drop ids, fingerprints and records of a deleted object."""
        ...

    def lock(self, scope: str, holder: str) -> AbstractContextManager[None]:
        """Hold the apply lock for ``scope``; raises ``LockedError`` naming the holder if taken."""
        ...

    def close(self) -> None: ...
