"""Address: the immutable identity ``provider.kind.name`` of a managed object.

``provider`` and ``kind`` are lower-case identifiers without dots; ``name`` is the natural key and
may hold any character, dots included (``phase.member.alice@acme.io``, ``messages.domain.acme.fr``).
Nested objects use ``/`` in the name (``phase.environment.payments/Production``).
``Address.parse(str(a)) == a`` for every address.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import total_ordering

_IDENT = re.compile(r"^[a-z][a-z0-9_]*$")


@total_ordering
@dataclass(frozen=True, slots=True)
class Address:
    """Identity of one managed object; ordered by (provider, kind, name)."""

    provider: str
    kind: str
    name: str

    def __post_init__(self) -> None:
        if not _IDENT.match(self.provider):
            raise ValueError(f"invalid provider in address: {self.provider!r}")
        if not _IDENT.match(self.kind):
            raise ValueError(f"invalid kind in address: {self.kind!r}")
        if not self.name:
            raise ValueError("address name must not be empty")

    @classmethod
    def parse(cls, text: str) -> Address:
        """Parse ``provider.kind.name``; raises ``ValueError`` on a malformed address."""
        parts = text.split(".", 2)
        if len(parts) != 3:
            raise ValueError(f"invalid address {text!r}: expected provider.kind.name")
        return cls(*parts)

    def __str__(self) -> str:
        return f"{self.provider}.{self.kind}.{self.name}"

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Address):
            return NotImplemented
        return (self.provider, self.kind, self.name) < (other.provider, other.kind, other.name)
