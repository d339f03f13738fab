"""Loader: plain data, positions of every node, duplicate keys, merging, YAML errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.errors import Location, SpecError, SpecErrors
from reconciler.secrets.resolve import Encrypted
from reconciler.spec.loader import load, spec_files


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def errors_of(path: Path) -> str:
    with pytest.raises(SpecErrors) as info:
        load(path)
    return str(info.value)


def test_plain_data_and_scalar_types(tmp_path: Path) -> None:
    f = write(
        tmp_path / "s.yaml",
        "a: 1\nb: 2.5\nc: true\nd: null\ne: yes\nf: 2024-01-01\ng: !!str 3\n"
        "h: [x, {y: z}]\n7: seven\nt: !encrypted tok\n",
    )
    loaded = load(f)
    assert loaded.data == {
        "a": 1,
        "b": 2.5,
        "c": True,
        "d": None,
        "e": "yes",  # YAML 1.2: not a boolean
        "f": "2024-01-01",  # timestamps stay text
        "g": "3",
        "h": ["x", {"y": "z"}],
        "7": "seven",  # keys are always strings
        "t": "tok",
    }
    assert type(loaded.data["h"]) is list and type(loaded.data["a"]) is int
    assert isinstance(loaded.data["t"], Encrypted)


def test_positions_of_keys_items_and_values(tmp_path: Path) -> None:
    f = write(tmp_path / "s.yaml", "top:\n  key: value\n  list:\n    - one\n    - {k: v}\n")
    loaded = load(f)
    file = str(f)
    assert loaded.positions[()] == Location(file, 1, 1)
    assert loaded.positions[("top",)] == Location(file, 1, 1)
    assert loaded.positions[("top", "key")] == Location(file, 2, 3)
    assert loaded.value_positions[("top", "key")] == Location(file, 2, 8)
    assert loaded.positions[("top", "list", 0)] == Location(file, 4, 7)
    assert loaded.positions[("top", "list", 1)] == Location(file, 5, 7)
    assert loaded.positions[("top", "list", 1, "k")] == Location(file, 5, 8)


def test_locate_falls_back_to_nearest_ancestor(tmp_path: Path) -> None:
    f = write(tmp_path / "s.yaml", "top:\n  key: value\n")
    loaded = load(f)
    assert loaded.locate(("top", "key", "missing", 3)) == Location(str(f), 2, 3)
    assert loaded.locate(("nothing",)) == Location(str(f), 1, 1)
    assert loaded.locate_value(("top", "key")) == Location(str(f), 2, 8)


def test_empty_file_is_empty_mapping(tmp_path: Path) -> None:
    assert load(write(tmp_path / "e.yaml", "")).data == {}
    assert load(write(tmp_path / "c.yaml", "# only a comment\n")).data == {}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("- a\n", "1:1: the document root must be a mapping, not a list"),
        ("just text\n", "1:1: the document root must be a mapping, not a single value"),
    ],
)
def test_root_must_be_a_mapping(tmp_path: Path, text: str, expected: str) -> None:
    f = write(tmp_path / "s.yaml", text)
    assert errors_of(f) == f"{f}:{expected}"


def test_duplicate_keys_in_one_file_all_reported(tmp_path: Path) -> None:
    f = write(tmp_path / "s.yaml", "a: 1\nb:\n  x: 1\n  x: 2\na: 3\n")
    assert errors_of(f).splitlines() == [
        f"{f}:4:3: duplicate key 'x' (first at {f}:3:3)",
        f"{f}:5:1: duplicate key 'a' (first at {f}:1:1)",
    ]


def test_quoted_and_plain_keys_are_the_same_key(tmp_path: Path) -> None:
    f = write(tmp_path / "s.yaml", 'a: 1\n"a": 2\n')
    assert errors_of(f) == f"{f}:2:1: duplicate key 'a' (first at {f}:1:1)"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: [1,\nb: 2\n", "3:1: invalid YAML: expected ',' or ']', but got '<stream end>'"),
        ("a: 1\n b: 2\n", "2:3: invalid YAML: mapping values are not allowed here"),
        ("a: *nope\n", "1:4: invalid YAML: found undefined alias 'nope'"),
        ("a: 1\n---\nb: 2\n", "2:1: invalid YAML: expected a single document in the stream"),
        ("a: x\x07\n", "1:5: invalid YAML: character #x0007 is not allowed"),
        ("a: &x [1, *x]\n", "1:4: recursive alias"),
        ("a: !vault x\n", "1:4: unknown tag '!vault' (only !encrypted is supported)"),
        ("a: !encrypted {k: v}\n", "1:4: !encrypted needs a string token, not a mapping or list"),
        ("d: &d {k: v}\ne:\n  <<: *d\n", "3:3: merge keys ('<<') are not supported"),
        ("? [a]\n: 1\n", "1:3: mapping keys must be plain strings"),
    ],
)
def test_yaml_errors_are_located(tmp_path: Path, text: str, expected: str) -> None:
    f = write(tmp_path / "s.yaml", text)
    assert errors_of(f).startswith(f"{f}:{expected}")


def test_invalid_utf8(tmp_path: Path) -> None:
    f = tmp_path / "s.yaml"
    f.write_bytes(b"a: 1\nb: \xff\n")
    assert errors_of(f) == f"{f}:2:1: file is not valid UTF-8"


def test_yaml_error_text_does_not_quote_source(tmp_path: Path) -> None:
    f = write(tmp_path / "s.yaml", "token: 'sup3r-s3cret\n")
    text = errors_of(f)
    assert "sup3r" not in text


def test_aliases_expand(tmp_path: Path) -> None:
    f = write(tmp_path / "s.yaml", "a: &x {k: v}\nb: *x\n")
    assert load(f).data == {"a": {"k": "v"}, "b": {"k": "v"}}


def test_directory_merges_maps_in_name_order(tmp_path: Path) -> None:
    write(tmp_path / "b.yml", "memory:\n  groups:\n    b: {}\n")
    write(tmp_path / "a.yaml", "version: 1\nmemory:\n  groups:\n    a: {}\n")
    write(tmp_path / "c.yaml", "version: 1\nother: [1]\n")
    write(tmp_path / ".hidden.yaml", "not: [valid\n")
    write(tmp_path / "notes.txt", "ignored")
    write(tmp_path / "sub" / "d.yaml", "ignored: true\n")
    assert [p.name for p in spec_files(tmp_path)] == ["a.yaml", "b.yml", "c.yaml"]
    loaded = load(tmp_path)
    assert loaded.data == {"version": 1, "memory": {"groups": {"a": {}, "b": {}}}, "other": [1]}
    assert list(loaded.data["memory"]["groups"]) == ["a", "b"]
    assert loaded.positions[("memory",)] == Location(str(tmp_path / "a.yaml"), 2, 1)
    assert loaded.positions[("memory", "groups", "b")] == Location(str(tmp_path / "b.yml"), 3, 5)
    assert loaded.positions[()] == Location(str(tmp_path / "a.yaml"), 1, 1)
    assert [f.name for f in loaded.files] == ["a.yaml", "b.yml", "c.yaml"]


def test_key_path_in_two_files_is_an_error(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", "m:\n  c: {path: x}\n  l: [1]\n")
    write(tmp_path / "b.yaml", "m:\n  c:\n    path: y\n  l: [2]\n")
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    assert errors_of(tmp_path).splitlines() == [
        f"{b}:3:5: duplicate key 'm.c.path' (first at {a}:2:7)",
        f"{b}:4:3: duplicate key 'm.l' (first at {a}:3:3)",
    ]


def test_map_against_scalar_across_files(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", "m: {k: 1}\n")
    write(tmp_path / "b.yaml", "m: 2\n")
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    assert errors_of(tmp_path) == f"{b}:1:1: duplicate key 'm' (first at {a}:1:1)"


def test_version_may_repeat_across_files_only_if_equal(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", "version: 1\n")
    write(tmp_path / "b.yaml", "version: 1\n")
    assert load(tmp_path).data == {"version": 1}
    write(tmp_path / "c.yaml", "version: 2\n")
    a, c = tmp_path / "a.yaml", tmp_path / "c.yaml"
    assert errors_of(tmp_path) == f"{c}:1:1: duplicate key 'version' (first at {a}:1:1)"


def test_errors_of_several_files_are_reported_together(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", "a: [\n")
    write(tmp_path / "b.yaml", "b: 1\nb: 2\n")
    lines = errors_of(tmp_path).splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"{tmp_path / 'a.yaml'}:2:1: invalid YAML")
    assert lines[1].startswith(f"{tmp_path / 'b.yaml'}:2:1: duplicate key 'b'")


def test_missing_path_and_empty_directory(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="no such file or directory"):
        load(tmp_path / "absent.yaml")
    with pytest.raises(SpecError, match=r"no \*\.yaml or \*\.yml files"):
        load(tmp_path)


def test_single_file_name_is_its_own(tmp_path: Path) -> None:
    f = write(tmp_path / "org.yaml", "a: 1\n")
    loaded = load(f)
    assert [(s.name, s.content) for s in loaded.files] == [("org.yaml", b"a: 1\n")]


def test_unquoted_reference_in_flow_mapping_gets_a_hint(tmp_path: Path) -> None:
    f = write(tmp_path / "s.yaml", "connection: {url: ${env:URL}}\n")
    assert errors_of(f).endswith("; inside {...} or [...] quote values holding ${...}")
    f = write(tmp_path / "s.yaml", "connection:\n  url: ${env:URL}\nlist: ['${env:A}']\n")
    assert load(f).data == {"connection": {"url": "${env:URL}"}, "list": ["${env:A}"]}
