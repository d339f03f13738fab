"""Registers the ``org`` fixture (see ``cli_org.py``)."""

from cli_org import org

__all__ = ["org"]
