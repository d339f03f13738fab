"""The order of lists the real server returns in no fixed order.

Some answers come from database queries without ``ORDER BY`` (the environments of a member's or
service account's access, the members of a team and the apps and environments of its access), so
a real Phase server returns them in whatever order Postgres reads the rows. The sandbox shuffles
them, a fresh order per answer, so a client that depends on their order fails here rather than
in production. The shuffle is seeded: ``RECONCILER_SANDBOX_SEED=<n>`` reproduces a run's orders,
and ``RECONCILER_SANDBOX_ORDERED=1`` (or ``POST /_sandbox/order/ {"shuffle": false}``) keeps the
insertion order, for debugging.
"""

from __future__ import annotations

import os
import random
import secrets
from collections.abc import Iterable
from typing import TypeVar

ORDERED_ENV = "RECONCILER_SANDBOX_ORDERED"
SEED_ENV = "RECONCILER_SANDBOX_SEED"

T = TypeVar("T")


def _enabled_by_default() -> bool:
    return os.environ.get(ORDERED_ENV, "").strip().lower() not in ("1", "true", "yes", "on")


class Shuffle:
    """Shuffles one answer's list at a time (``answers`` counts them; the ``n``-th list is
    shuffled by a generator seeded with ``seed`` and ``n``)."""

    def __init__(self) -> None:
        raw = os.environ.get(SEED_ENV, "").strip()
        self.seed = int(raw) if raw.isdigit() else secrets.randbits(32)
        self.enabled = _enabled_by_default()
        self.answers = 0

    def reset(self) -> None:
        """Back to the environment's setting (a test may have switched it off)."""
        self.enabled = _enabled_by_default()

    def __call__(self, rows: Iterable[T]) -> list[T]:
        out = list(rows)
        if self.enabled and len(out) > 1:
            self.answers += 1
            random.Random(f"{self.seed}:{self.answers}").shuffle(out)
        return out

    def settings(self) -> dict[str, int | bool]:
        return {"shuffle": self.enabled, "seed": self.seed}
