"""Pooled reads: independent GETs on a few threads, results in input order."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

WORKERS = 8  # enough to hide latency; few enough not to trip a server's per-client throttle


def pool_map(fn: Callable[[T], R], items: Sequence[T], workers: int = WORKERS) -> list[R]:
    """``[fn(x) for x in items]`` on at most ``workers`` threads.

    Order is kept; the first error (in input order) is raised once every call has finished,
    so no request is left running behind the caller's back.
    """
    if len(items) <= 1 or workers <= 1:
        return [fn(x) for x in items]
    with ThreadPoolExecutor(max_workers=min(workers, len(items))) as pool:
        return list(pool.map(fn, items))
