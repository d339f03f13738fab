"""Every provider plugin the tool knows, by name (the spec section key)."""

from __future__ import annotations

import importlib

from reconciler.providers.base import ProviderPlugin

# module path of each plugin; the module defines ``PLUGIN: ProviderPlugin``
_MODULES: dict[str, str] = {
    "memory": "reconciler.providers.memory",
    "phase": "reconciler.providers.phase.plugin",
}


def plugins() -> dict[str, ProviderPlugin]:
    """All registered plugins, in a fixed order (spec section order in the schema)."""
    out: dict[str, ProviderPlugin] = {}
    for name, module in _MODULES.items():
        plugin = importlib.import_module(module).PLUGIN
        assert isinstance(plugin, ProviderPlugin) and plugin.name == name
        out[name] = plugin
    return out
