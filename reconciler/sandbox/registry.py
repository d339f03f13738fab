"""Every system that has a sandbox, by name (the provider's name), in serving order.

Adding a system is one line in ``_MODULES``: ``"<name>": "reconciler.sandbox.<name>.mount"``,
a module defining ``MOUNT: SandboxMount`` with ``MOUNT.name == "<name>"``. The full contract
(folder, server class, constructor, credentials, state files) is in ``reconciler.sandbox.host``.
Modules are imported only when asked for, so serving one system never imports the others.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence

from reconciler.errors import ReconcilerError
from reconciler.sandbox.host import SandboxMount

# module path of each system's mount; the module defines ``MOUNT: SandboxMount``
_MODULES: dict[str, str] = {
    "phase": "reconciler.sandbox.phase.mount",
}


def names() -> list[str]:
    """Every registered system's name, in serving order."""
    return list(_MODULES)


def mounts(only: Sequence[str] | None = None) -> list[SandboxMount]:
    """The mounts of ``only`` (all when ``None`` or empty), in serving order.

    An unknown name raises ``ReconcilerError`` listing the known ones.
    """
    wanted = list(dict.fromkeys(only or _MODULES))
    unknown = [name for name in wanted if name not in _MODULES]
    if unknown:
        raise ReconcilerError(
            f"sandbox: no sandbox named {unknown[0]!r} (known: {', '.join(_MODULES)})"
        )
    out: list[SandboxMount] = []
    for name in _MODULES:
        if name in wanted:
            mount = importlib.import_module(_MODULES[name]).MOUNT
            if not isinstance(mount, SandboxMount) or mount.name != name:
                raise ReconcilerError(f"sandbox: {_MODULES[name]}.MOUNT is not the {name!r} mount")
            out.append(mount)
    return out
