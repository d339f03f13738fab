"""SecretField: the pydantic type of a write-only spec value.

The spec loader turns ``${env:X}``, ``${file:path}`` and ``!encrypted <token>`` into ``Reference``
strings. A ``SecretField`` accepts only such a string (an inline literal is rejected, so secrets
never sit in git in clear) and yields a ``Secret``. In JSON Schema it is a string.

Validated with a context holding a ``"secrets"`` list (``spec.documents.validate`` does), every
``Secret`` made is also appended to it: the loader learns every secret of a spec without
walking the validated models again.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import PlainSerializer, PlainValidator, ValidationInfo, WithJsonSchema

from reconciler.secrets.value import MASK, Secret


class Reference(str):
    """A string value that came from ``${env:}``, ``${file:}`` or ``!encrypted``, not inline."""

    __slots__ = ()


def to_secret(value: Any, info: ValidationInfo | None = None) -> Secret:
    """Validate a write-only spec value; raises ``ValueError`` with a message, never the value.

    ``info``: pydantic's validation info; its context's ``"secrets"`` list, if any, receives
    the ``Secret`` made."""
    if isinstance(value, Secret):
        return value
    if isinstance(value, Reference):
        secret = Secret(str(value))
        context = info.context if info is not None else None
        if isinstance(context, dict) and isinstance(context.get("secrets"), list):
            context["secrets"].append(secret)
        return secret
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
