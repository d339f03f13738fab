"""Helpers the provider and sandbox tests share (``tests/`` is on ``sys.path`` through the
root ``conftest.py``, so they import as ``helpers.<module>``)."""
