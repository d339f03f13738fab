"""Refusals of a payment unit's create: which deliver units the server named as already
assigned, whether an earlier attempt (its ``attempted`` record) sent exactly those, and the
error when none did (docs/connect-api.md#automation-api)."""

from __future__ import annotations

import re
from collections.abc import Mapping

from reconciler.address import Address
from reconciler.errors import ProviderError
from reconciler.model.resource import JSON


def refused_units(text: str) -> list[int]:
    """The deliver unit ids of an "Invalid or already-assigned deliver unit IDs: [..]" refusal
    (none when the server named none)."""
    found = re.search(r"already-assigned deliver unit IDs: \[([0-9, ]*)\]", text)
    return [int(n) for n in found.group(1).split(",") if n.strip()] if found else []


def attempted_with(earlier: JSON, sent: list[int]) -> bool:
    """An earlier attempt (recorded before its POST) sent exactly these deliver units."""
    if not isinstance(earlier, Mapping):
        return False
    units = earlier.get("deliver_units")
    return isinstance(units, list) and sorted(int(str(u)) for u in units) == sent


def assigned_elsewhere(
    a: Address, exc: ProviderError, units: Mapping[str, int], sent: list[int]
) -> str:
    """The refusal of deliver units no attempt of this payment unit assigned: both uses named."""
    refused = set(refused_units(str(exc))) or set(sent)
    slugs = ", ".join(sorted(s for s, i in units.items() if i in refused)) or str(sorted(refused))
    return (
        f"deliver unit {slugs} is already assigned to another payment unit (deliver units "
        f"belong to the app record, shared by every opportunity using the same app), not to "
        f"{a.name.rsplit('/', 1)[1]!r}, which no earlier run attempted: use other deliver "
        f"units, or remove that payment unit's use in Connect ({exc})"
    )


def by_earlier(earlier: JSON, exc: ProviderError, sent: list[int]) -> bool:
    """``exc`` refuses as already assigned only deliver units that the earlier attempt
    (recorded before its POST) sent, exactly ``sent``: that attempt made the payment unit."""
    assigned = exc.status == 400 and "already-assigned" in str(exc)
    return assigned and attempted_with(earlier, sent) and set(refused_units(str(exc))) <= set(sent)
