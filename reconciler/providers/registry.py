"""Every provider plugin the tool knows, by name (the spec section key).

A provider in this repository is one line in ``_MODULES``: ``"<name>":
"reconciler.providers.<name>.plugin"``, a module defining ``PLUGIN: ProviderPlugin`` with
``PLUGIN.name == "<name>"`` (docs/providers.md walks through the rest).

A provider kept in another package (a company's own system, a provider being developed, the
guide's test) is registered without editing this file: ``RECONCILER_PLUGINS`` holds
comma-separated ``name=module`` entries, e.g. ``RECONCILER_PLUGINS=shelf=acme_shelf.plugin``;
each module must be importable and define ``PLUGIN`` named ``name``. They come after the
built-in providers, and may not reuse a built-in name. The variable is read on every call, but
the spec schema is built once per process: set it before the process starts.
"""

from __future__ import annotations

import importlib

from reconciler.errors import ReconcilerError
from reconciler.providers.base import ProviderPlugin
from reconciler.registry import registered

# module path of each plugin; the module defines ``PLUGIN: ProviderPlugin``
_MODULES: dict[str, str] = {
    "memory": "reconciler.providers.memory",
    "phase": "reconciler.providers.phase.plugin",
    "messages": "reconciler.providers.messages.plugin",
    "flagsmith": "reconciler.providers.flagsmith.plugin",
    "connect": "reconciler.providers.connect.plugin",
}

VARIABLE = "RECONCILER_PLUGINS"


def modules() -> dict[str, str]:
    """Name -> plugin module: the built-in ones, then those of ``RECONCILER_PLUGINS``."""
    return registered(_MODULES, VARIABLE, "provider")


def plugins() -> dict[str, ProviderPlugin]:
    """All registered plugins, in a fixed order (spec section order in the schema).

    A module of ``RECONCILER_PLUGINS`` that cannot be imported, or whose ``PLUGIN`` is missing
    or misnamed, is a ``ReconcilerError`` naming the entry (a built-in one is a bug and raises
    as is).
    """
    out: dict[str, ProviderPlugin] = {}
    for name, module in modules().items():
        try:
            plugin = importlib.import_module(module).PLUGIN
        except (ImportError, AttributeError) as exc:
            if name in _MODULES:
                raise
            raise ReconcilerError(
                f"{VARIABLE}: cannot load {module}.PLUGIN ({type(exc).__name__}: {exc})"
            ) from None
        if not isinstance(plugin, ProviderPlugin) or plugin.name != name:
            raise ReconcilerError(f"provider {name!r}: {module}.PLUGIN is not the {name!r} plugin")
        out[name] = plugin
    return out
