"""Loader: spec files -> plain data plus a position for every node.

A spec set is one YAML file or a directory; in a directory every ``*.yaml``/``*.yml`` file
(not hidden, not in subdirectories) is read in name order and the files are deep-merged.

Contract:

* Data is plain Python: ``dict`` (keys are always ``str``: the key's text as written), ``list``,
  ``str``, ``int``, ``float``, ``bool``, ``None``; an ``!encrypted`` scalar is an
  ``Encrypted`` string (decrypted later by ``reconciler.secrets.resolve``). YAML 1.2 core
  schema: ``yes``/``no``/``on``/``off`` are strings; timestamps stay text.
* ``positions`` maps a node path (keys and list indices from the root) to the location of the
  mapping *key* (for map entries) or of the *item* (for list entries); ``()`` is the start of
  the first file. ``value_positions`` maps the same paths to where the value itself starts.
  Lines and columns are 1-based.
* Errors (all collected, raised together as ``SpecErrors``): malformed YAML at the location
  ruamel reports; a duplicate key in one file at the second key, naming the first; a key path
  defined in two files at the later file's key, naming the first (maps merge, anything else
  conflicts; only an identical top-level ``version`` may repeat, so every file can carry it);
  a root that is not a mapping. An empty file is an empty mapping.
* ``references`` lists the paths of the string values ``secrets.resolve`` must look at (those
  holding ``${`` and every ``!encrypted`` value), so resolution does not walk the whole tree.
* Files are read once; their bytes are kept for the spec digest.

Speed: a plain file is read from libyaml's events (``events``), with no node tree; anything
unusual is composed into nodes (``compose``: libyaml, ruamel.yaml for errors). Positions are
tuples, made ``Location``s only when asked for (few of a large spec's are ever printed).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.reader import ReaderError

from reconciler.errors import Location, SpecError, SpecErrors
from reconciler.secrets.resolve import Encrypted
from reconciler.spec.compose import (
    PLAIN,
    ScalarConstructor,
    compose,
    reader_error,
    resolve_plain,
    yaml_error,
)
from reconciler.spec.events import build as build_from_events

NodePath = tuple[str | int, ...]
Mark = tuple[str, int, int]  # file, 1-based line, 1-based column

SUFFIXES = (".yaml", ".yml")
ENCRYPTED_TAG = "!encrypted"

_CORE = "tag:yaml.org,2002:"
_STR = _CORE + "str"
_CONSTRUCTED = {_CORE + t for t in ("null", "bool", "int", "float")}
_TEXT = {_CORE + t for t in ("str", "timestamp", "binary")}
_MERGE = _CORE + "merge"
# values beyond one per character of a file: only aliases of aliases (billion laughs) get there
ALIAS_BUDGET = 100_000


@dataclass(frozen=True)
class SourceFile:
    """One spec file: its path (as given, or joined to the directory), its name relative to the
    spec set, and its bytes."""

    path: Path
    name: str
    content: bytes


class Positions(Mapping[NodePath, Location]):
    """Node path -> ``Location``, built on access from compact ``(file, line, column)`` marks."""

    __slots__ = ("_marks",)

    def __init__(self, marks: Mapping[NodePath, Mark]) -> None:
        self._marks = marks

    def __getitem__(self, path: NodePath) -> Location:
        return Location(*self._marks[path])

    def get_mark(self, path: NodePath) -> Mark | None:
        return self._marks.get(path)

    def __iter__(self) -> Iterator[NodePath]:
        return iter(self._marks)

    def __len__(self) -> int:
        return len(self._marks)

    def __contains__(self, path: object) -> bool:
        return path in self._marks


@dataclass(frozen=True)
class Loaded:
    """A parsed and merged spec set; see the module docstring for the meaning of each index."""

    root: Path
    files: tuple[SourceFile, ...]
    data: dict[str, Any]
    positions: Positions
    value_positions: Positions
    references: tuple[NodePath, ...] = ()

    def locate(self, path: NodePath) -> Location | None:
        """Location of the key/item at ``path``, or of its nearest located ancestor."""
        return _nearest(self.positions, path)

    def locate_value(self, path: NodePath) -> Location | None:
        """Location where the value at ``path`` starts, else as ``locate``."""
        mark = self.value_positions.get_mark(path)
        return Location(*mark) if mark is not None else self.locate(path)


def _nearest(index: Positions, path: NodePath) -> Location | None:
    for end in range(len(path), -1, -1):
        mark = index.get_mark(path[:end])
        if mark is not None:
            return Location(*mark)
    return None


def spec_files(path: Path) -> list[Path]:
    """The files of a spec set in merge order. Raises ``SpecError`` if there are none."""
    if path.is_dir():
        files = sorted(
            (
                p
                for p in path.iterdir()
                if p.suffix in SUFFIXES and not p.name.startswith(".") and p.is_file()
            ),
            key=lambda p: p.name,
        )
        if not files:
            raise SpecError(f"{path}: no *.yaml or *.yml files in this directory")
        return files
    if path.is_file():
        return [path]
    raise SpecError(f"{path}: no such file or directory")


def read_files(path: Path) -> list[SourceFile]:
    """The files of the spec set at ``path`` with their bytes (raises ``SpecError``)."""
    files: list[SourceFile] = []
    for file in spec_files(path):
        try:
            content = file.read_bytes()
        except OSError as exc:
            raise SpecError(f"{file}: cannot read: {(exc.strerror or 'error').lower()}") from None
        name = file.name if path.is_dir() else path.name
        files.append(SourceFile(file, name, content))
    return files


def load(path: Path) -> Loaded:
    """Read, parse and merge the spec set at ``path`` (a file or a directory).

    Raises ``SpecErrors`` with every loader error found (see the module docstring).
    """
    files = read_files(path)
    errors: list[SpecError] = []
    data: dict[str, Any] = {}
    positions: dict[NodePath, Mark] = {}
    values: dict[NodePath, Mark] = {}
    references: list[NodePath] = []
    constructor = ScalarConstructor()
    merged = False
    for source in files:
        try:
            builder = _parse_file(source, errors, constructor)
        except RecursionError:  # the composer and the builder recurse once per level
            errors.append(SpecError("nested too deep to read", Location(str(source.path), 1, 1)))
            continue
        if builder is None:
            continue
        if not merged:  # the first parsed file: nothing to merge with
            data, positions, values = builder.data, builder.positions, builder.values
            references.extend(builder.references)
            merged = True
            continue
        _merge(data, builder.data, (), Positions(positions), Positions(builder.positions), errors)
        # The first file to define a path keeps it (a merged map is located where it first
        # appears); paths only the later file has are added. On a conflict an error is raised
        # anyway, so the extra positions of the rejected subtree do no harm.
        for node_path, mark in builder.positions.items():
            positions.setdefault(node_path, mark)
        for node_path, mark in builder.values.items():
            values.setdefault(node_path, mark)
        references.extend(builder.references)
    if files:
        positions.setdefault((), (str(files[0].path), 1, 1))
    if errors:
        raise SpecErrors(errors)
    return Loaded(
        path, tuple(files), data, Positions(positions), Positions(values), tuple(references)
    )


def _parse_file(
    source: SourceFile, errors: list[SpecError], constructor: ScalarConstructor
) -> _Builder | None:
    """Parse one file; append its errors and return ``None`` if it has any."""
    file = str(source.path)
    try:
        text = source.content.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = source.content[: exc.start].count(b"\n") + 1
        errors.append(SpecError("file is not valid UTF-8", Location(file, line, 1)))
        return None
    built = build_from_events(text, file, constructor)
    if built is not None:  # the common case, without a node tree in memory
        builder = _Builder(file, constructor)
        builder.data, builder.positions = built.data, built.positions
        builder.values, builder.references = built.values, built.references
        return builder
    try:
        root = compose(text)
    except MarkedYAMLError as exc:
        errors.append(yaml_error(exc, text, file))
        return None
    except ReaderError as exc:  # control characters: a position, no mark
        errors.append(reader_error(exc, text, file))
        return None
    except YAMLError as exc:
        errors.append(SpecError(f"invalid YAML: {type(exc).__name__}", Location(file, 1, 1)))
        return None
    builder = _Builder(file, constructor)
    builder.budget += len(text)
    if root is None:
        builder.positions[()] = (file, 1, 1)
        return builder
    if root.id != "mapping":
        kind = "a list" if root.id == "sequence" else "a single value"
        errors.append(
            SpecError(f"the document root must be a mapping, not {kind}", _location(root, file))
        )
        return None
    builder.data = builder.build(root, ())
    errors.extend(builder.errors)
    if builder.errors:
        return None
    builder.positions[()] = (file, 1, 1)
    return builder


def _location(node: Any, file: str) -> Location:
    return Location(file, node.start_mark.line + 1, node.start_mark.column + 1)


class _Builder:
    """Turns composed nodes (libyaml's or ruamel's) into plain data, recording positions, the
    paths of values to resolve, and per-file errors.

    This is the hot loop of ``validate`` on a large spec: attribute lookups are hoisted into
    locals and marks are stored as tuples.
    """

    def __init__(self, file: str, constructor: ScalarConstructor) -> None:
        self.file = file
        self.constructor = constructor
        self.data: dict[str, Any] = {}
        self.positions: dict[NodePath, Mark] = {}
        self.values: dict[NodePath, Mark] = {}
        self.references: list[NodePath] = []
        self.errors: list[SpecError] = []
        self._active: set[int] = set()  # nodes being built: an alias to one is recursive
        self.budget = ALIAS_BUDGET  # values left to build (``_parse_file`` adds the text size)

    def error(self, message: str, node: Any) -> None:
        self.errors.append(SpecError(message, _location(node, self.file)))

    def build(self, node: Any, path: NodePath) -> Any:
        kind = node.id
        self.budget -= 1
        if self.budget < 0:
            message = f"aliases expand to over {ALIAS_BUDGET:,} values more than the file holds"
            raise SpecErrors([SpecError(message, _location(node, self.file))])
        if kind == "scalar":
            return self._scalar(node, path)
        if id(node) in self._active:
            self.error("recursive alias", node)
            return None
        self._active.add(id(node))
        try:
            if kind == "mapping":
                return self._mapping(node, path)
            return self._sequence(node, path)
        finally:
            self._active.discard(id(node))

    def _mapping(self, node: Any, path: NodePath) -> dict[str, Any]:
        self._check_collection_tag(node)
        out: dict[str, Any] = {}
        first: dict[str, Mark] = {}
        file, positions, values, build = self.file, self.positions, self.values, self.build
        for key_node, value_node in node.value:
            if key_node.id != "scalar":
                self.error("mapping keys must be plain strings", key_node)
                continue
            key = str(key_node.value)
            tag = str(key_node.tag)
            if tag == _MERGE or (tag == PLAIN and key == "<<"):
                self.error("merge keys ('<<') are not supported", key_node)
                continue
            start = key_node.start_mark
            mark = (file, start.line + 1, start.column + 1)
            if key in first:
                self.error(f"duplicate key {key!r} (first at {Location(*first[key])})", key_node)
                continue
            first[key] = mark
            child = (*path, key)
            positions[child] = mark
            start = value_node.start_mark
            values[child] = (file, start.line + 1, start.column + 1)
            out[key] = build(value_node, child)
        return out

    def _sequence(self, node: Any, path: NodePath) -> list[Any]:
        self._check_collection_tag(node)
        out: list[Any] = []
        file, positions, values, build = self.file, self.positions, self.values, self.build
        for index, item in enumerate(node.value):
            child = (*path, index)
            start = item.start_mark
            positions[child] = values[child] = (file, start.line + 1, start.column + 1)
            out.append(build(item, child))
        return out

    def _check_collection_tag(self, node: Any) -> None:
        tag = str(node.tag or "")
        if tag == ENCRYPTED_TAG:
            self.error(f"{ENCRYPTED_TAG} needs a string token, not a mapping or list", node)
        elif not tag.startswith(_CORE):
            self.error(f"unknown tag {tag!r} (only {ENCRYPTED_TAG} is supported)", node)

    def _scalar(self, node: Any, path: NodePath) -> Any:
        tag = str(node.tag or "")
        value = node.value
        if tag == PLAIN:
            tag = resolve_plain(value)
        if tag == _STR:
            if "${" in value:
                self.references.append(path)
            return str(value)
        if tag == ENCRYPTED_TAG:
            token = str(value).strip()
            if not token:
                self.error(f"{ENCRYPTED_TAG} needs a token", node)
            self.references.append(path)
            return Encrypted(token)
        if tag in _CONSTRUCTED:
            return self.constructor.construct(tag, value)
        if tag in _TEXT:
            if "${" in value:
                self.references.append(path)
            return str(value)
        self.error(f"unknown tag {tag!r} (only {ENCRYPTED_TAG} is supported)", node)
        return None


def _dotted(path: NodePath) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def _merge(
    into: dict[str, Any],
    new: dict[str, Any],
    path: NodePath,
    positions: Mapping[NodePath, Location],
    new_positions: Mapping[NodePath, Location],
    errors: list[SpecError],
) -> None:
    """Deep-merge one file's map at ``path`` into the merged data; conflicts become errors."""
    for key, value in new.items():
        child = (*path, key)
        if key not in into:
            into[key] = value
            continue
        existing = into[key]
        if isinstance(existing, dict) and isinstance(value, dict):
            _merge(existing, value, child, positions, new_positions, errors)
            continue
        if child == ("version",) and type(existing) is type(value) and existing == value:
            continue  # every file may state the (same) format version
        errors.append(
            SpecError(
                f"duplicate key {_dotted(child)!r} (first at {positions[child]})",
                new_positions[child],
            )
        )
