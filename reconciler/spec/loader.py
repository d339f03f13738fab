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
* Files are read once; their bytes are kept for the spec digest.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.reader import ReaderError

from reconciler.errors import Location, SpecError, SpecErrors
from reconciler.secrets.resolve import Encrypted

NodePath = tuple[str | int, ...]

SUFFIXES = (".yaml", ".yml")
ENCRYPTED_TAG = "!encrypted"

_CORE = "tag:yaml.org,2002:"
_CONSTRUCTED = {_CORE + t for t in ("null", "bool", "int", "float")}
_TEXT = {_CORE + t for t in ("str", "timestamp", "binary")}
_MERGE = _CORE + "merge"


@dataclass(frozen=True)
class SourceFile:
    """One spec file: its path (as given, or joined to the directory), its name relative to the
    spec set, and its bytes."""

    path: Path
    name: str
    content: bytes


@dataclass(frozen=True)
class Loaded:
    """A parsed and merged spec set; see the module docstring for the meaning of each index."""

    root: Path
    files: tuple[SourceFile, ...]
    data: dict[str, Any]
    positions: Mapping[NodePath, Location]
    value_positions: Mapping[NodePath, Location]

    def locate(self, path: NodePath) -> Location | None:
        """Location of the key/item at ``path``, or of its nearest located ancestor."""
        return _nearest(self.positions, path)

    def locate_value(self, path: NodePath) -> Location | None:
        """Location where the value at ``path`` starts, else as ``locate``."""
        return self.value_positions.get(path) or self.locate(path)


def _nearest(index: Mapping[NodePath, Location], path: NodePath) -> Location | None:
    for end in range(len(path), -1, -1):
        found = index.get(path[:end])
        if found is not None:
            return found
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


def load(path: Path) -> Loaded:
    """Read, parse and merge the spec set at ``path`` (a file or a directory).

    Raises ``SpecErrors`` with every loader error found (see the module docstring).
    """
    files: list[SourceFile] = []
    for file in spec_files(path):
        try:
            content = file.read_bytes()
        except OSError as exc:
            raise SpecError(f"{file}: cannot read: {(exc.strerror or 'error').lower()}") from None
        name = file.name if path.is_dir() else path.name
        files.append(SourceFile(file, name, content))

    errors: list[SpecError] = []
    data: dict[str, Any] = {}
    positions: dict[NodePath, Location] = {}
    values: dict[NodePath, Location] = {}
    for source in files:
        parsed = _parse_file(source, errors)
        if parsed is None:
            continue
        file_data, file_positions, file_values = parsed
        _merge(data, file_data, (), positions, file_positions, errors)
        # The first file to define a path keeps it (a merged map is located where it first
        # appears); paths only the later file has are added. On a conflict an error is raised
        # anyway, so the extra positions of the rejected subtree do no harm.
        for node_path, location in file_positions.items():
            positions.setdefault(node_path, location)
        for node_path, location in file_values.items():
            values.setdefault(node_path, location)
    if files:
        positions.setdefault((), Location(str(files[0].path), 1, 1))
    if errors:
        raise SpecErrors(errors)
    return Loaded(path, tuple(files), data, positions, values)


def _tag(node: Node) -> str:
    return str(node.tag or "")


def _mark(node: Node, file: str) -> Location:
    return Location(file, node.start_mark.line + 1, node.start_mark.column + 1)


def _parse_file(
    source: SourceFile, errors: list[SpecError]
) -> tuple[dict[str, Any], dict[NodePath, Location], dict[NodePath, Location]] | None:
    """Parse one file; append its errors and return ``None`` if it has any."""
    file = str(source.path)
    try:
        text = source.content.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = source.content[: exc.start].count(b"\n") + 1
        errors.append(SpecError("file is not valid UTF-8", Location(file, line, 1)))
        return None
    yaml = YAML(typ="safe", pure=True)
    try:
        root = yaml.compose(text)
    except MarkedYAMLError as exc:
        errors.append(_yaml_error(exc, text, file))
        return None
    except ReaderError as exc:  # control characters: a position, no mark
        errors.append(_reader_error(exc, text, file))
        return None
    except YAMLError as exc:
        errors.append(SpecError(f"invalid YAML: {type(exc).__name__}", Location(file, 1, 1)))
        return None
    builder = _Builder(file, yaml)
    if root is None:
        return {}, {(): Location(file, 1, 1)}, {}
    if not isinstance(root, MappingNode):
        kind = "a list" if isinstance(root, SequenceNode) else "a single value"
        errors.append(
            SpecError(f"the document root must be a mapping, not {kind}", _mark(root, file))
        )
        return None
    data = builder.build(root, ())
    errors.extend(builder.errors)
    if builder.errors:
        return None
    builder.positions[()] = Location(file, 1, 1)
    assert isinstance(data, dict)
    return data, builder.positions, builder.values


def _yaml_error(exc: MarkedYAMLError, text: str, file: str) -> SpecError:
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


def _reader_error(exc: ReaderError, text: str, file: str) -> SpecError:
    position = exc.position if isinstance(exc.position, int) else 0
    before = text[:position]
    line = before.count("\n") + 1
    column = position - (before.rfind("\n") + 1) + 1
    character = exc.character if isinstance(exc.character, int) else 0
    return SpecError(
        f"invalid YAML: character #x{character:04x} is not allowed", Location(file, line, column)
    )


class _Builder:
    """Turns composed nodes into plain data, recording positions and per-file errors."""

    def __init__(self, file: str, yaml: YAML) -> None:
        self.file = file
        self.constructor = yaml.constructor
        self.positions: dict[NodePath, Location] = {}
        self.values: dict[NodePath, Location] = {}
        self.errors: list[SpecError] = []
        self._active: set[int] = set()  # nodes being built: an alias to one is recursive

    def error(self, message: str, node: Node) -> None:
        self.errors.append(SpecError(message, _mark(node, self.file)))

    def build(self, node: Node, path: NodePath) -> Any:
        if id(node) in self._active:
            self.error("recursive alias", node)
            return None
        self._active.add(id(node))
        try:
            if isinstance(node, MappingNode):
                return self._mapping(node, path)
            if isinstance(node, SequenceNode):
                return self._sequence(node, path)
            return self._scalar(node)
        finally:
            self._active.discard(id(node))

    def _mapping(self, node: MappingNode, path: NodePath) -> dict[str, Any]:
        self._check_collection_tag(node)
        out: dict[str, Any] = {}
        first: dict[str, Location] = {}
        for key_node, value_node in node.value:
            if _tag(key_node) == _MERGE:
                self.error("merge keys ('<<') are not supported", key_node)
                continue
            if not isinstance(key_node, ScalarNode):
                self.error("mapping keys must be plain strings", key_node)
                continue
            key = str(key_node.value)
            location = _mark(key_node, self.file)
            if key in first:
                self.error(f"duplicate key {key!r} (first at {first[key]})", key_node)
                continue
            first[key] = location
            child = (*path, key)
            self.positions[child] = location
            self.values[child] = _mark(value_node, self.file)
            out[key] = self.build(value_node, child)
        return out

    def _sequence(self, node: SequenceNode, path: NodePath) -> list[Any]:
        self._check_collection_tag(node)
        out: list[Any] = []
        for index, item in enumerate(node.value):
            child = (*path, index)
            self.positions[child] = self.values[child] = _mark(item, self.file)
            out.append(self.build(item, child))
        return out

    def _check_collection_tag(self, node: Node) -> None:
        tag = _tag(node)
        if tag == ENCRYPTED_TAG:
            self.error(f"{ENCRYPTED_TAG} needs a string token, not a mapping or list", node)
        elif not tag.startswith(_CORE):
            self.error(f"unknown tag {tag!r} (only {ENCRYPTED_TAG} is supported)", node)

    def _scalar(self, node: Node) -> Any:
        tag = _tag(node)
        if tag == ENCRYPTED_TAG:
            token = str(node.value).strip()
            if not token:
                self.error(f"{ENCRYPTED_TAG} needs a token", node)
            return Encrypted(token)
        if tag in _CONSTRUCTED:
            return self.constructor.construct_object(node, deep=True)
        if tag in _TEXT:
            return str(node.value)
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
