"""Plain ``http://`` only to loopback, unless a connection says ``allow_insecure_http: true``.

Every provider's connection model declares ``allow_insecure_http`` (default false). The engine
opens each provider inside ``insecure_http_allowed(section)``; ``HttpClient`` calls
``check_scheme`` when it is built, so a client made in that block follows its section's choice
and any other refuses plain HTTP to a host that is not loopback. TLS verification has no switch.
"""

from __future__ import annotations

import contextlib
import contextvars
import ipaddress
from collections.abc import Iterator
from urllib.parse import urlsplit

from reconciler.errors import ReconcilerError

_INSECURE = contextvars.ContextVar("allow_insecure_http", default=False)


@contextlib.contextmanager
def allow_insecure_http(allowed: bool) -> Iterator[None]:
    """Clients built in the block accept plain ``http://`` to any host when ``allowed``."""
    token = _INSECURE.set(allowed)
    try:
        yield
    finally:
        _INSECURE.reset(token)


def insecure_http_allowed(section: object) -> contextlib.AbstractContextManager[None]:
    """``allow_insecure_http`` as the section's ``connection.allow_insecure_http`` says (a
    connection field every provider declares)."""
    connection = getattr(section, "connection", None)
    return allow_insecure_http(bool(getattr(connection, "allow_insecure_http", False)))


def check_scheme(url: str, system: str) -> None:
    """Refuse ``http://`` to a host that is not loopback, unless allowed (module docstring)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme != "http" or host == "localhost" or _INSECURE.get():
        return
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        pass
    raise ReconcilerError(
        f"{system} at http://{parts.netloc}: plain http:// to a host other than loopback would "
        "send credentials unencrypted; use https://, or set allow_insecure_http: true in the "
        "connection"
    )
