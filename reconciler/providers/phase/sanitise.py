"""The Phase server's text and e-mail rules, reproduced exactly (one copy, used by the spec
validation, the provider's diff and the sandbox).

The server (console v2.73.2: Django 5.2, Python 3.12) cleans every name and description with
``validate_text_field``: Django's ``strip_tags``, then C0/C1 control characters other than tab,
LF and CR removed, then ``strip()``. ``strip_tags`` is not a regex: it feeds the text to the
standard library's HTML parser and keeps the data, entity and character references (re-emitted
as ``&name;`` / ``&#n;``), dropping tags, comments, declarations and processing instructions;
it repeats while the text holds both ``<`` and ``>`` and a pass removed at least one ``<``.
So ``"a < b > c"`` stays whole, ``"<!-- a > b -->x"`` is ``"x"``, ``"<img src='x>y'>z"`` is
``"z"`` and ``"<<b>>hi<</b>>"`` is ``"<>hi<>"``. A text that looks like an attack (an open tag
of 1,000+ characters holding 50+ ``<``, or 50 passes without settling) raises Django's
``SuspiciousOperation``, which the API answers with HTTP 500: here ``Suspicious``.

The parser is the running interpreter's ``html.parser``; CPython security releases of mid-2025
(3.11.13, 3.12.11, 3.13.4 and later) changed how it reads a few malformed constructs (``</ x>``,
unclosed comments at the end), so on those interpreters such corner cases may be judged
differently from the reference server.

E-mail addresses are checked as ``validate_email_address`` does: trimmed and lower-cased, then
Django's ``EmailValidator`` (at most 320 characters; an ASCII dot-atom or quoted local part;
a domain that is ``localhost``, a host name whose labels may be internationalised, or an IPv4
or IPv6 literal in brackets).
"""

from __future__ import annotations

import ipaddress
import re
from html.parser import HTMLParser

# validate_text_field keeps tab, LF and CR.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_LONG_OPEN_TAG = re.compile(r"<[a-zA-Z][^>]{1000,}")
MAX_DEPTH = 50


class Suspicious(ValueError):
    """Text the server refuses with ``SuspiciousOperation`` (HTTP 500 from the API)."""


class _Collector(HTMLParser):
    """Keeps what ``strip_tags`` keeps: character data and references as written."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.kept: list[str] = []

    def handle_data(self, data: str) -> None:
        self.kept.append(data)

    def handle_entityref(self, name: str) -> None:
        self.kept.append(f"&{name};")

    def handle_charref(self, name: str) -> None:
        self.kept.append(f"&#{name};")


def _strip_once(value: str) -> str:
    collector = _Collector()
    collector.feed(value)
    collector.close()
    return "".join(collector.kept)


def strip_tags(value: str) -> str:
    """Django's ``strip_tags`` (see the module docstring). Raises ``Suspicious``."""
    for found in _LONG_OPEN_TAG.finditer(value):
        if found.group().count("<") >= MAX_DEPTH:
            raise Suspicious("an unclosed tag of 1,000+ characters holding 50+ '<'")
    depth = 0
    while "<" in value and ">" in value:
        if depth >= MAX_DEPTH:
            raise Suspicious("HTML nested 50 levels deep")
        stripped = _strip_once(value)
        if stripped.count("<") == value.count("<"):
            break  # nothing more the parser reads as markup
        value = stripped
        depth += 1
    return value


def clean_text(value: str) -> str:
    """What ``validate_text_field`` stores for ``value``. Raises ``Suspicious``."""
    return _CONTROL.sub("", strip_tags(value)).strip()


# EmailValidator's parts. IGNORECASE matters beyond ASCII (e.g. U+017F matches [A-Z]).
_ATOM = r"[-!#$%&'*+/=?^_`{}|~0-9A-Z]+"
_QUOTED = r'"([\001-\010\013\014\016-\037!#-\[\]-\177]|\\[\001-\011\013\014\016-\177])*"'
_USER = re.compile(rf"(^{_ATOM}(\.{_ATOM})*\Z|^{_QUOTED}\Z)", re.IGNORECASE)
_LETTERS = "a-z\u00a1-\uffff0-9"  # internationalised labels are matched as they are
_DOMAIN = re.compile(
    rf"^[{_LETTERS}](?:[{_LETTERS}-]{{0,61}}[{_LETTERS}])?"  # first label
    rf"(?:\.(?!-)[{_LETTERS}-]{{1,63}}(?<!-))*"  # more labels
    r"\.(?!-)(?:[a-z\u00a1-\uffff-]{2,63}|xn--[a-z0-9]{1,59})(?<!-)\Z",  # top level, no dot
    re.IGNORECASE,
)
_LITERAL = re.compile(r"\[([A-F0-9:.]+)\]\Z", re.IGNORECASE)
EMAIL_MAX = 320
_IPV6_MAX = 39


def _ip_literal(text: str) -> bool:
    try:
        ipaddress.IPv4Address(text)
        return True
    except ValueError:
        pass
    if len(text) > _IPV6_MAX:
        return False
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


def email_valid(value: str) -> bool:
    """Django's ``EmailValidator`` on ``value`` as given (no trimming, no case folding)."""
    if not value or "@" not in value or len(value) > EMAIL_MAX:
        return False
    user, domain = value.rsplit("@", 1)
    if not _USER.match(user):
        return False
    if domain == "localhost" or _DOMAIN.match(domain):
        return True
    literal = _LITERAL.match(domain)
    return literal is not None and _ip_literal(literal.group(1))


def clean_email(value: str) -> str | None:
    """What ``validate_email_address`` stores for ``value`` (trimmed, lower-cased), or
    ``None`` when the server answers 400 ``'<e-mail>' is not a valid email address.``"""
    cleaned = value.strip().lower()
    return cleaned if cleaned and email_valid(cleaned) else None
