"""Registers the access tests' fixtures (defined, with their helpers, in ``access_org.py``)."""

from access_org import (
    connect_org,
    connect_sandbox,
    flagsmith_org,
    flagsmith_sandbox,
    messages_org,
    messages_sandbox,
    phase_org,
)

__all__ = [
    "connect_org",
    "connect_sandbox",
    "flagsmith_org",
    "flagsmith_sandbox",
    "messages_org",
    "messages_sandbox",
    "phase_org",
]
