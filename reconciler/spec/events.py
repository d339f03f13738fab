"""The loader's fast path: plain data and positions straight from libyaml's event stream.

Composing a node tree first (``compose``) holds every node and two marks per node in memory at
once: about 4.5 KB a spec object, 450 MB at 100,000 objects, for a tree that is thrown away.
``build`` reads the events one by one instead and keeps only what the loader returns.

It handles the common, valid file only. Anything else makes it return ``None`` and the loader
builds from nodes as before, which reports every error exactly and handles every construct:
anchors and aliases, a duplicate key, a merge key, a non-scalar key, a tag other than the core
ones and a well-formed ``!encrypted``, an empty ``!encrypted``, a root that is not a mapping, an
empty file, a second document, and any YAML error. The result is the same as the node path's
(``tests/spec/test_spec_fast_loader.py`` compares them).
"""

from __future__ import annotations

from typing import Any

from yaml.events import (
    DocumentEndEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)

from reconciler.secrets.resolve import Encrypted
from reconciler.spec.compose import CORE, PLAIN, STR, ScalarConstructor, parser, resolve_plain

NodePath = tuple[str | int, ...]
Mark = tuple[str, int, int]

ENCRYPTED_TAG = "!encrypted"
_MERGE = CORE + "merge"
_CONSTRUCTED = {CORE + t for t in ("null", "bool", "int", "float")}
_TEXT = {CORE + t for t in ("str", "timestamp", "binary")}
_END = (MappingEndEvent, SequenceEndEvent)
_FAIL = object()  # a scalar the node path must judge


class Built:
    """What ``build`` returns: the loader's per-file data, positions and references."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}
        self.positions: dict[NodePath, Mark] = {}
        self.values: dict[NodePath, Mark] = {}
        self.references: list[NodePath] = []


def build(text: str, file: str, constructor: ScalarConstructor) -> Built | None:
    """Data and positions of ``text`` from libyaml's events, or ``None`` (see the docstring)."""
    events = parser(text)
    if events is None:
        return None
    try:
        return _walk(events, file, constructor)
    except Exception:  # any YAML error: the node path reports it exactly
        return None
    finally:
        events.dispose()


def _walk(events: Any, file: str, constructor: ScalarConstructor) -> Built | None:
    # One loop over every event of the file; a frame is [container, path, pending key path].
    # It is long because it is the hot loop of a large spec: no call per event but the parser's.
    get = events.get_event
    get()  # StreamStart
    if type(get()) is not DocumentStartEvent:
        return None
    event = get()
    if type(event) is not MappingStartEvent or not _plain_map(event):
        return None
    out = Built()
    positions, values, references = out.positions, out.values, out.references
    frames: list[list[Any]] = [[out.data, (), None]]
    while frames:
        event = get()
        kind = type(event)
        if kind in _END:
            frames.pop()
            continue
        frame = frames[-1]
        container = frame[0]
        start = event.start_mark
        mark = (file, start.line + 1, start.column + 1)
        if type(container) is dict:
            pending = frame[2]
            if pending is None:  # a key
                if kind is not ScalarEvent or event.anchor is not None:
                    return None
                key = event.value
                tag = event.tag
                if key in container or tag == _MERGE or (key == "<<" and event.implicit[0]):
                    return None
                path = (*frame[1], key)
                positions[path] = mark
                frame[2] = path
                continue
            frame[2] = None
            path = pending
            values[path] = mark
        else:
            path = (*frame[1], len(container))
            positions[path] = values[path] = mark
        if kind is ScalarEvent:
            if event.anchor is not None:
                return None
            value = _scalar(event, path, references, constructor)
            if value is _FAIL:
                return None
        elif kind is MappingStartEvent or kind is SequenceStartEvent:
            if event.anchor is not None or not _core_tag(event.tag):
                return None
            value = {} if kind is MappingStartEvent else []
            frames.append([value, path, None])
        else:  # an alias
            return None
        if type(container) is dict:
            container[path[-1]] = value
        else:
            container.append(value)
    if type(get()) is not DocumentEndEvent or type(get()) is not StreamEndEvent:
        return None
    out.positions[()] = (file, 1, 1)
    return out


def _plain_map(event: Any) -> bool:
    return event.anchor is None and _core_tag(event.tag)


def _core_tag(tag: str | None) -> bool:
    return tag is None or tag == "!" or tag.startswith(CORE)


def _scalar(
    event: Any, path: NodePath, references: list[NodePath], constructor: ScalarConstructor
) -> Any:
    """The scalar's value as the node path makes it, or ``_FAIL`` where that path errs."""
    tag = event.tag
    value = event.value
    if tag is None or tag == "!":
        tag = PLAIN if event.implicit[0] else STR
    if tag == PLAIN:
        tag = resolve_plain(value)
    if tag == STR or tag in _TEXT:
        if "${" in value:
            references.append(path)
        return value
    if tag == ENCRYPTED_TAG:
        token = value.strip()
        if not token:
            return _FAIL
        references.append(path)
        return Encrypted(token)
    if tag in _CONSTRUCTED:
        return constructor.construct(tag, value)
    return _FAIL
