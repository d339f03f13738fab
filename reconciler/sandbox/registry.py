"""Every system that has a sandbox, by name (the provider's name), in serving order.

Adding a system is one line in ``_MODULES``: ``"<name>": "reconciler.sandbox.<name>.mount"``,
a module defining ``MOUNT: SandboxMount`` with ``MOUNT.name == "<name>"``. The full contract
(folder, server class, constructor, credentials, state files) is in ``reconciler.sandbox.host``.
Modules are imported only when asked for, so serving one system never imports the others.

A sandbox kept in another package (next to a provider registered through
``RECONCILER_PLUGINS``, see ``reconciler.providers.registry``) is registered without editing
this file: ``RECONCILER_SANDBOXES`` holds comma-separated ``name=module`` entries, e.g.
``RECONCILER_SANDBOXES=shelf=acme_shelf_sandbox.mount``, served after the built-in ones; a
built-in name cannot be reused.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence

from reconciler.errors import ReconcilerError
from reconciler.registry import registered
from reconciler.sandbox.host import SandboxMount

# module path of each system's mount; the module defines ``MOUNT: SandboxMount``
_MODULES: dict[str, str] = {
    "phase": "reconciler.sandbox.phase.mount",
    "messages": "reconciler.sandbox.messages.mount",
    "flagsmith": "reconciler.sandbox.flagsmith.mount",
    "connect": "reconciler.sandbox.connect.mount",
}


VARIABLE = "RECONCILER_SANDBOXES"


def modules() -> dict[str, str]:
    """Name -> mount module: the built-in ones, then those of ``RECONCILER_SANDBOXES``."""
    return registered(_MODULES, VARIABLE, "sandbox")


def names() -> list[str]:
    """Every registered system's name, in serving order."""
    return list(modules())


def mounts(only: Sequence[str] | None = None) -> list[SandboxMount]:
    """The mounts of ``only`` (all when ``None`` or empty), in serving order.

    An unknown name raises ``ReconcilerError`` listing the known ones.
    """
    known = modules()
    wanted = list(dict.fromkeys(only or known))
    unknown = [name for name in wanted if name not in known]
    if unknown:
        raise ReconcilerError(
            f"sandbox: no sandbox named {unknown[0]!r} (known: {', '.join(known)})"
        )
    out: list[SandboxMount] = []
    for name, module in known.items():
        if name in wanted:
            mount = importlib.import_module(module).MOUNT
            if not isinstance(mount, SandboxMount) or mount.name != name:
                raise ReconcilerError(f"sandbox: {module}.MOUNT is not the {name!r} mount")
            out.append(mount)
    return out
