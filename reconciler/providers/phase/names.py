"""The Phase provider's name, its kinds and spec collections, and its addresses."""

from __future__ import annotations

from reconciler.address import Address

NAME = "phase"
KINDS = ("role", "app", "environment", "service_account", "sa_token", "member", "team")
COLLECTIONS = {
    "roles": "role",
    "apps": "app",
    "environments": "environment",
    "service_accounts": "service_account",
    "tokens": "sa_token",
    "members": "member",
    "teams": "team",
}


def addr(kind: str, name: str) -> Address:
    return Address(NAME, kind, name)
