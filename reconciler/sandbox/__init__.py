"""Local, contract-faithful servers of the managed systems' APIs, for tests, demos and users' CI.

One folder per system (``phase/``, ...), each registered in ``registry.py`` by a ``MOUNT``
object; ``host.py`` documents that contract and serves every registered system in one process,
each on its own loopback port (``reconciler sandbox [--only NAME]``). ``server.Sandbox`` is
Phase's server.
"""
