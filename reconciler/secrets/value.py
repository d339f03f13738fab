"""Secret: a value that must never leave the process.

``repr``/``str``/``format`` give ``(sensitive)``; only ``reveal()`` returns the plaintext, and it is
called only where the value is sent to the system that needs it (a provider request body, a file
written with mode 0600). Secrets are excluded from equality, hashing and pickling so they cannot
slip into a plan, a digest or a state row.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import NoReturn

MASK = "(sensitive)"


class Secret:
    """An opaque holder for a plaintext secret."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The plaintext. Call only at the edge where it is sent to its destination."""
        return self._value

    def fingerprint(self, key: bytes) -> str:
        """Keyed fingerprint (HMAC-SHA256) used to compare write-only values without plaintext."""
        return (
            "hmac-sha256:" + hmac.new(key, self._value.encode("utf-8"), hashlib.sha256).hexdigest()
        )

    def __repr__(self) -> str:
        return MASK

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return MASK

    def __reduce__(self) -> NoReturn:
        raise TypeError("Secret values cannot be pickled")

    def __bool__(self) -> bool:
        return bool(self._value)
