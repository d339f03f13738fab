"""Resource and State: one type for desired and live objects (pure; no I/O)."""

from reconciler.model.resource import JSON, Resource
from reconciler.model.state import State

__all__ = ["JSON", "Resource", "State"]
