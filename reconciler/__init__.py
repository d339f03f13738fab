"""reconciler: declarative config-as-code for organisation access.

Data flow (see DESIGN.md): spec files -> loader -> documents -> compile -> desired State;
provider.read -> live State; diff -> order -> Plan; render; apply.
"""

__version__ = "0.1.0"
