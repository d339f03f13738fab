"""SecretField: the pydantic type of a write-only spec value.

The spec loader turns ``${env:X}``, ``${file:path}`` and ``!encrypted <token>`` into ``Reference``
strings. A ``SecretField`` accepts only such a string (an inline literal is rejected, so secrets
never sit in git in clear) and yields a ``Secret``. In JSON Schema it is a string.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import PlainSerializer, PlainValidator, WithJsonSchema

from reconciler.secrets.value import MASK, Secret


class Reference(str):
    """A string value that came from ``${env:}``, ``${file:}`` or ``!encrypted``, not inline."""

    __slots__ = ()


def to_secret(value: Any) -> Secret:
    """Validate a write-only spec value; raises ``ValueError`` with a message, never the value."""
    if isinstance(value, Secret):
        return value
    if isinstance(value, Reference):
        return Secret(str(value))
    if isinstance(value, str):
        raise ValueError(
            "secret values must not be written inline; use ${env:NAME}, ${file:path} "
            "or !encrypted <token>"
        )
    raise ValueError("expected a string")


SecretField = Annotated[
    Secret,
    PlainValidator(to_secret),
    PlainSerializer(lambda _s: MASK, return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "description": "Write-only value: ${env:NAME}, ${file:path} or !encrypted <token>.",
        }
    ),
]
