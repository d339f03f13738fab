"""Pacing: a token bucket per target, whose recent slots can outlive the process.

Servers throttle per principal over a sliding minute (Phase: ``RATE_LIMIT_DEFAULT``; Flagsmith
and others likewise). ``TokenBucket`` never lets a sliding minute hold more than ``rate``
requests, never slows a short run, and settles a long one at ``rate`` per minute.

A server stamps a request when it arrives, which can be well after the token was taken (a new
connection, a slow network). The client therefore moves each token's time to when the answer
came back (``settle``): the server stamped the request at the latest then, so a request sent one
window after it never lands in the same server window, however long requests take to arrive.

A CI job commonly runs ``apply`` and then ``plan`` within the same minute: two processes, one
server budget. ``SharedBudget`` keeps the bucket's slots of the last minute in the state store
(a non-secret record: instants only), loaded when a client opens and saved when it closes, so
the second run starts where the first left off and meets no 429 when the spec states the
server's limit.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections import deque
from collections.abc import Callable

from reconciler.address import Address
from reconciler.state.store import StateStore

WINDOW = 60.0  # seconds: the servers' throttle window


class TokenBucket:
    """``rate`` tokens; a request takes one, and each comes back ``WINDOW`` seconds after it was
    taken. Thread-safe: concurrent callers get successive slots. ``clock`` is wall time so slots
    can be shared between processes."""

    def __init__(self, rate: int, clock: Callable[[], float] = time.time) -> None:
        self.rate = max(1, rate)
        self.clock = clock
        self.taken: deque[float] = deque()  # when each of the last ``rate`` tokens was taken
        self.lock = threading.Lock()

    def delay(self) -> float:
        """Take a token; the seconds to wait before sending (0 when one is free now)."""
        now = self.clock()
        return self.take() - now

    def take(self) -> float:
        """Take a token; the instant (``clock`` time) the request may be sent."""
        with self.lock:
            now = self.clock()
            slot = now if len(self.taken) < self.rate else max(now, self.taken[0] + WINDOW)
            self.taken.append(slot)
            while len(self.taken) > self.rate:
                self.taken.popleft()
            return slot

    def settle(self, slot: float) -> None:
        """The request sent at ``slot`` has its answer (or failed): its token is counted from
        now, the latest instant the server can have stamped it."""
        with self.lock:
            if slot in self.taken:
                self.taken.remove(slot)
                bisect.insort(self.taken, max(slot, self.clock()))

    def slots(self) -> list[float]:
        """The slots taken within the last window (for ``SharedBudget.save``)."""
        with self.lock:
            horizon = self.clock() - WINDOW
            return [t for t in self.taken if t > horizon]

    def restore(self, slots: list[float]) -> None:
        """Add slots taken by an earlier run (kept sorted, at most ``rate``). Equal instants
        are distinct requests (several are sent within one millisecond): each one counts."""
        with self.lock:
            horizon = self.clock() - WINDOW
            merged = sorted([*self.taken, *(t for t in slots if t > horizon)])
            self.taken = deque(merged[-self.rate :])


class SharedBudget:
    """A ``TokenBucket`` whose slots are kept in the state store under ``address``
    (``<provider>.pacing.<scope>``, scope = the server and principal the budget belongs to)."""

    def __init__(self, store: StateStore, address: Address, bucket: TokenBucket) -> None:
        self.store = store
        self.address = address
        self.bucket = bucket

    @classmethod
    def open(cls, store: StateStore, provider: str, scope: str, rate: int) -> SharedBudget:
        """A bucket of ``rate`` per minute, primed with the slots earlier runs left in ``store``."""
        budget = cls(store, Address(provider, "pacing", scope), TokenBucket(rate))
        budget.load()
        return budget

    def load(self) -> None:
        record = self.store.get_record(self.address, "slots")
        if isinstance(record, list):
            self.bucket.restore([float(t) for t in record if isinstance(t, int | float)])

    def save(self) -> None:
        """Write the slots of the last minute back (called when the client closes)."""
        self.store.set_record(self.address, "slots", [round(t, 3) for t in self.bucket.slots()])
