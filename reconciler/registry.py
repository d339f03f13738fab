"""Name -> module registries read from the code and the environment (the provider plugins'
and the sandboxes'): the built-in entries, then the comma-separated ``name=module`` entries
of an environment variable, which may not reuse a name. Imports nothing but ``errors``, so
any layer may use it."""

from __future__ import annotations

import os
from collections.abc import Mapping

from reconciler.errors import ReconcilerError


def registered(builtin: Mapping[str, str], variable: str, kind: str) -> dict[str, str]:
    """``builtin``, then the entries of the environment variable ``variable`` (read on every
    call). An entry that is not ``name=module``, or whose name is taken, is a
    ``ReconcilerError`` naming the variable (``kind`` names what is registered: "provider",
    "sandbox")."""
    out = dict(builtin)
    for entry in os.environ.get(variable, "").split(","):
        if not entry.strip():
            continue
        name, sep, module = (part.strip() for part in entry.partition("="))
        if not sep or not name or not module:
            raise ReconcilerError(f"{variable}: {entry.strip()!r} is not name=module")
        if name in out:
            raise ReconcilerError(f"{variable}: {kind} {name!r} is already registered")
        out[name] = module
    return out
