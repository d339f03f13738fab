"""The markdown table both benchmarks print: one row per size, as each size finishes."""

from __future__ import annotations

from collections.abc import Callable, Sequence


def report(
    columns: Sequence[tuple[str, str]],
    sizes: Sequence[int],
    run: Callable[[int], dict[str, float]],
) -> int:
    """``columns``: ``(heading, key)`` after the size column; a key ending in ``_s`` is seconds
    (two decimals), ``_x`` a ratio (two decimals), ``_mib`` one decimal, anything else a count."""
    print("| " + " | ".join(["size", *(h for h, _ in columns)]) + " |")
    print("|---:" * (len(columns) + 1) + "|")
    for n in sizes:
        out = run(n)
        cells = [str(n)]
        for _, key in columns:
            digits = 2 if key.endswith(("_s", "_x")) else 1 if key.endswith("_mib") else 0
            cells.append(f"{out[key]:.{digits}f}")
        print("| " + " | ".join(cells) + " |", flush=True)
    return 0
