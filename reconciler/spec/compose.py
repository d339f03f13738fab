"""YAML text -> a node tree with line/column marks, through libyaml (C) when it can.

The loader needs nodes, not constructed data: every key and value keeps its position, and
duplicate keys, unknown tags and ``!encrypted`` are judged node by node. Composing with
ruamel.yaml's pure-Python composer cost about 90% of ``validate`` on large specs, so a file is
composed by PyYAML's libyaml binding (``CParser``) with a resolver that only marks plain
scalars; their YAML 1.2 core-schema tags are resolved afterwards by ``resolve_plain`` with
ruamel.yaml's own 1.2 rules, so the data is the same as before.

ruamel.yaml (pure) stays the reference: a file libyaml rejects, a file with a ``%YAML``
directive (a version other than 1.2 changes the rules) and a file holding characters ruamel's
reader refuses are composed by ruamel again, so the error message and its location, or the
accepted data, are exactly ruamel's. Errors are rare; the second parse costs nothing that
matters.

One known difference: an empty value (``key:``) starts right after its key for libyaml and at
the next token for ruamel; only the loader's ``value_positions`` of such null values differ, and
no message points at them (only strings are resolved).

Both libraries' nodes have ``id`` (``scalar``/``sequence``/``mapping``), ``tag``, ``value`` and
``start_mark`` (0-based ``line``/``column``), which is all the loader reads.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import yaml as pyyaml
from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError
from ruamel.yaml.nodes import ScalarNode as RuamelScalar
from ruamel.yaml.reader import Reader, ReaderError
from ruamel.yaml.resolver import implicit_resolvers

from reconciler.errors import Location, SpecError

CORE = "tag:yaml.org,2002:"
STR = CORE + "str"
PLAIN = "?plain"  # tag given to plain scalars by the fast composer, resolved by resolve_plain

_DIRECTIVE = re.compile(r"^%YAML", re.M)


class _MarkingResolver:
    """Resolver hooks the libyaml composer calls: plain scalars are only marked (``PLAIN``),
    quoted ones are strings, collections get the core tags. No path resolvers."""

    def descend_resolver(self, current_node: Any, current_index: Any) -> None:
        return None

    def ascend_resolver(self) -> None:
        return None

    def resolve(self, kind: type, value: Any, implicit: tuple[bool, bool]) -> str:
        if kind is pyyaml.ScalarNode:
            return PLAIN if implicit[0] else STR
        return CORE + ("seq" if kind is pyyaml.SequenceNode else "map")


_FastLoader: type | None = None
try:
    from yaml.cyaml import CParser
except ImportError:  # PyYAML built without libyaml: ruamel.yaml composes everything
    pass
else:

    class _LibyamlLoader(CParser, _MarkingResolver):  # type: ignore[misc]
        """libyaml's parser and composer with the marking resolver."""

    _FastLoader = _LibyamlLoader


def compose(text: str) -> Any:
    """The root node of ``text`` (``None`` for an empty document).

    Raises what ``ruamel.yaml`` raises for the same text (``MarkedYAMLError``, ``ReaderError``,
    ``YAMLError``) when the text is not valid YAML.
    """
    fast = _FastLoader is not None and _DIRECTIVE.search(text) is None
    if fast and Reader.NON_PRINTABLE.search(text) is None:
        try:
            return pyyaml.compose(text, Loader=_FastLoader)
        except pyyaml.YAMLError:
            pass  # ruamel's message and location are the reference: compose again below
    return reference_yaml().compose(text)


def parser(text: str) -> Any:
    """A libyaml parser over ``text`` (``get_event``, ``dispose``), or ``None`` where ruamel.yaml
    must read the text (no libyaml, a ``%YAML`` directive, characters ruamel refuses)."""
    if _FastLoader is None or _DIRECTIVE.search(text) is not None:
        return None
    if Reader.NON_PRINTABLE.search(text) is not None:
        return None
    return _FastLoader(text)


def reference_yaml() -> YAML:
    """A ruamel.yaml (safe, pure) instance: the reference composer and scalar constructor."""
    return YAML(typ="safe", pure=True)


@lru_cache(maxsize=1)
def _plain_resolvers() -> dict[str, list[tuple[str, re.Pattern[str]]]]:
    """ruamel.yaml's YAML 1.2 implicit resolvers (tag, compiled pattern) by first character,
    in ruamel's order (ruamel's lazy patterns compiled once, here)."""
    table: dict[str, list[tuple[str, re.Pattern[str]]]] = {}
    for versions, tag, regexp, first in implicit_resolvers:
        if (1, 2) in versions:
            pattern = re.compile(regexp.pattern, regexp.flags)
            for char in first:
                table.setdefault(char, []).append((tag, pattern))
    return table


@lru_cache(maxsize=8192)  # specs repeat their plain values (roles, environment names, flags)
def resolve_plain(value: str) -> str:
    """The YAML 1.2 core-schema tag of a plain scalar, as ruamel.yaml resolves it."""
    for tag, regexp in _plain_resolvers().get(value[:1], ()):
        if regexp.match(value):
            return tag
    return STR


class ScalarConstructor:
    """Constructs null/bool/int/float scalars exactly as ruamel.yaml's safe constructor does,
    caching the (immutable) result per tag and text."""

    def __init__(self) -> None:
        self._constructor = reference_yaml().constructor
        self._cache: dict[tuple[str, str], Any] = {}

    def construct(self, tag: str, value: str) -> Any:
        key = (tag, value)
        try:
            return self._cache[key]
        except KeyError:
            node = RuamelScalar(tag, value)
            result = self._constructor.construct_object(node, deep=True)
            self._cache[key] = result
            return result


def yaml_error(exc: MarkedYAMLError, text: str, file: str) -> SpecError:
    """The located spec error for ruamel's YAML error ``exc`` in ``file``."""
    # Only ruamel's short problem/context texts are used: str(exc) quotes source lines, which
    # may hold values that must not be printed.
    mark = exc.problem_mark or exc.context_mark
    problem = str(exc.problem or "malformed YAML")
    context = str(exc.context or "")
    if context and problem.startswith("but "):
        message = f"{context}, {problem}"
    elif context:
        message = f"{problem} ({context})"
    else:
        message = problem
    location = Location(file, mark.line + 1, mark.column + 1) if mark else Location(file, 1, 1)
    # The common trap: ``{url: ${env:URL}}``. Braces end a plain scalar inside ``{...}``/``[...]``
    # so the reference must be quoted there; say so when the failing line holds one.
    lines = text.splitlines()
    if 0 < location.line <= len(lines) and "${" in lines[location.line - 1]:
        message += "; inside {...} or [...] quote values holding ${...}"
    return SpecError(f"invalid YAML: {message}", location)


def reader_error(exc: ReaderError, text: str, file: str) -> SpecError:
    """The located spec error for a character ruamel's reader refuses."""
    position = exc.position if isinstance(exc.position, int) else 0
    before = text[:position]
    line = before.count("\n") + 1
    column = position - (before.rfind("\n") + 1) + 1
    character = exc.character if isinstance(exc.character, int) else 0
    return SpecError(
        f"invalid YAML: character #x{character:04x} is not allowed", Location(file, line, column)
    )
