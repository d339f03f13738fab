"""StateStore: the interface every state backend implements (SQLite file, PostgreSQL database).

What it holds, and nothing else:

* ``ids``: server ids of objects the API cannot find by name (create-only APIs, ``id:`` pins,
  duplicate names) keyed by address;
* ``fingerprints``: keyed HMACs of write-only values last applied, keyed by (address, attribute),
  so a masked value read back from an API can still be compared;
* ``records``: small non-secret JSON facts a provider needs across runs (e.g. when a token was
  minted), keyed by (address, key);
* ``lock``: one apply at a time per organisation target. A taken lock is waited for up to
  ``lock_timeout`` seconds (0: fail at once), then ``LockedError`` names the holder.

The HMAC key used for fingerprints is ``fingerprint_key`` (see ``state/keys.py``); it is never
stored in plaintext, only sealed with ``RECONCILER_SECRET_KEY``.

The administrative half (``entries``, ``entry``, ``move``, ``import_entries``) backs the
``reconciler state`` commands: listing, showing, renaming and migrating state between backends.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from reconciler.address import Address
from reconciler.errors import LockedError, StateError
from reconciler.model.resource import JSON, Resource

FINGERPRINT_PREFIX = "hmac-sha256:"


@dataclass(frozen=True)
class LockInfo:
    """Who holds a scope's apply lock (``pid`` and ``host`` of the holding process)."""

    scope: str
    holder: str
    host: str
    pid: int
    acquired_at: str

    def describe(self) -> str:
        return (
            f"{self.scope}: apply lock held by {self.holder} (pid {self.pid} on {self.host}) "
            f"since {self.acquired_at}"
        )


@dataclass
class Entry:
    """Everything a store holds about one address (``state show``, ``state migrate``)."""

    address: Address
    server_id: str | None = None
    fingerprints: dict[str, str] = field(default_factory=dict)
    records: dict[str, JSON] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return self.server_id is None and not self.fingerprints and not self.records


def now() -> str:
    """The ``updated_at`` / ``acquired_at`` stamp: UTC, ISO 8601, whole seconds."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def check_fingerprint(address: Address, attribute: str, fingerprint: str) -> None:
    """Refuse anything that does not look like an HMAC: it may be a plaintext passed by
    mistake, so the message never echoes it."""
    if not fingerprint.startswith(FINGERPRINT_PREFIX):
        raise StateError(f"{address}: refusing to store {attribute!r}: not a fingerprint")


def recreated(resource: Resource, store: StateStore) -> bool:
    """Whether ``store`` remembers another server id for ``resource``'s address: the object
    was recreated out of band, so the write-only values applied to the old one (their
    fingerprints) say nothing about it."""
    remembered = store.get_id(resource.address)
    return remembered is not None and resource.id is not None and remembered != resource.id


def retry(acquire: Callable[[], None], timeout: float, every: float = 0.2) -> None:
    """Call ``acquire`` until it stops raising ``LockedError`` or ``timeout`` seconds passed
    (then the last ``LockedError`` propagates, saying how long it waited)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            acquire()
            return
        except LockedError as exc:
            left = deadline - time.monotonic()
            if left > 0:
                time.sleep(min(every, left))
            elif timeout > 0:
                raise LockedError(exc.address, f"{exc.message}; waited {timeout:g}s") from None
            else:
                raise


def group_entries(
    ids: list[tuple[str, str]],
    fingerprints: list[tuple[str, str, str]],
    records: list[tuple[str, str, JSON]],
) -> list[Entry]:
    """Rows of the three tables (address first) as one ``Entry`` per address, sorted."""
    entries: dict[str, Entry] = {}

    def of(address: str) -> Entry:
        if address not in entries:
            entries[address] = Entry(Address.parse(address))
        return entries[address]

    for address, server_id in ids:
        of(address).server_id = server_id
    for address, attribute, fingerprint in fingerprints:
        of(address).fingerprints[attribute] = fingerprint
    for address, key, value in records:
        of(address).records[key] = value
    return [entries[a] for a in sorted(entries)]


class StateStore(Protocol):
    """Persistent, non-secret facts about managed objects; see the module docstring."""

    lock_timeout: float
    """Seconds ``lock`` waits for a taken lock before raising ``LockedError`` (0: no wait)."""

    @property
    def fingerprint_key(self) -> bytes:
        """Key for ``Secret.fingerprint``; stable across runs for one installation."""
        ...

    @property
    def location(self) -> str:
        """Where the state lives (a file path, or a URL without its password), for messages."""
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
        """Hold the apply lock for ``scope``; waits up to ``lock_timeout`` seconds, then raises
        ``LockedError`` naming the holder. Not re-entrant: a scope this store already holds is
        reported as taken."""
        ...

    def lock_info(self, scope: str) -> LockInfo | None:
        """The live holder of ``scope``'s lock, if any."""
        ...

    def entries(self) -> list[Entry]:
        """Every address the store knows, sorted, with all its facts."""
        ...

    def entry(self, address: Address) -> Entry:
        """The facts about one address (``Entry.empty`` when there are none)."""
        ...

    def move(self, old: Address, new: Address) -> None:
        """Give ``old``'s facts to ``new`` in one transaction; ``StateError`` when ``old`` has
        none or ``new`` already has some."""
        ...

    def import_entries(self, entries: list[Entry]) -> None:
        """Write ``entries`` in one transaction into a store that holds none of their
        addresses; ``StateError`` otherwise (nothing written)."""
        ...

    def sealed_key(self) -> str | None:
        """The fingerprint key sealed with ``RECONCILER_SECRET_KEY`` (a Fernet token), if kept."""
        ...

    def seal_key(self, token: str, *, replace: bool = False) -> str:
        """Keep a sealed fingerprint key; without ``replace`` a key already kept wins (two first
        runs agree). Returns the token kept."""
        ...

    def close(self) -> None: ...
