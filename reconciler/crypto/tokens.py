"""Phase token strings: ``pss_user:v1:`` (personal access token) and ``pss_service:v2:``
(service-account token), docs/phase-api.md#tokens, #token-key-material.

A token has six colon-separated fields: prefix, version, then four 64-hex fields: the bearer
secret, the principal's X25519 public key, XOR share A of its X25519 private key, and the
XChaCha20-Poly1305 key that unwraps share B (which the server returns, wrapped, from
``GET /secrets/tokens/``). ``PhaseToken`` holds them without ever showing them: its ``repr``
is masked and parse errors never quote the input.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from reconciler.errors import ReconcilerError

_HEX64 = "[0-9a-fA-F]{64}"
_TOKEN = re.compile(rf"^pss_(user|service):(v1|v2):({_HEX64}):({_HEX64}):({_HEX64}):({_HEX64})$")


class TokenError(ReconcilerError):
    """A token string is not a usable Phase token (the message never contains the token)."""


@dataclass(frozen=True)
class PhaseToken:
    """The parts of a ``pss_user:v1`` or ``pss_service:v2`` token (all hex, lower case)."""

    kind: Literal["user", "service"]
    bearer: str = field(repr=False)
    kx_public: str
    share_a: str = field(repr=False)
    wrap_key: str = field(repr=False)

    @property
    def auth_type(self) -> str:
        """The Bearer type word: ``User`` or ``ServiceAccount``."""
        return "User" if self.kind == "user" else "ServiceAccount"

    def authorization(self) -> str:
        """The ``Authorization`` header value. Send it; never print it."""
        return f"Bearer {self.auth_type} {self.bearer}"


def parse_token(text: str) -> PhaseToken:
    """Parse a token; raises ``TokenError`` for anything but ``pss_user:v1`` / ``pss_service:v2``.

    A legacy ``pss_service:v1`` (per-app service token) is refused with its own message: it
    cannot call management endpoints (docs/phase-api.md#tokens).
    """
    if text.strip().startswith("pss_service:v1:"):
        raise TokenError(
            "token: a legacy pss_service:v1 service token cannot manage an organisation; "
            "use a personal access token (pss_user:v1) or a service-account token "
            "(pss_service:v2)"
        )
    match = _TOKEN.match(text.strip())
    if match is None:
        raise TokenError(
            "token: not a Phase token (expected pss_user:v1:… or pss_service:v2:… with four "
            "64-character hex fields)"
        )
    kind, version = match.group(1), match.group(2)
    if (kind, version) not in {("user", "v1"), ("service", "v2")}:
        raise TokenError(f"token: unsupported token version pss_{kind}:{version}")
    bearer, kx_public, share_a, wrap_key = (match.group(i).lower() for i in range(3, 7))
    return PhaseToken("user" if kind == "user" else "service", bearer, kx_public, share_a, wrap_key)
