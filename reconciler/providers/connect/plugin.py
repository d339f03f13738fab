"""The Connect plugin record: spec section, compile, open."""

from __future__ import annotations

from reconciler.providers.base import ProviderPlugin

from .access import access
from .compile import NAME, compile_section
from .export import export
from .provider import ConnectProvider
from .spec import ConnectSection

PLUGIN = ProviderPlugin(
    name=NAME,
    section=ConnectSection,
    compile=compile_section,
    open=ConnectProvider,
    export=export,
    access=access,
)
