"""The libyaml fast path gives exactly what ruamel.yaml (the reference) gives: the same data and
scalar types (YAML 1.2 core schema), the same key, item and value positions, the same errors;
and the rest of the fast load path (resolution of listed references only, secrets collected
while validating, credential-free validation)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from reconciler.errors import SpecErrors
from reconciler.spec import compose, events
from reconciler.spec.load import load_spec
from reconciler.spec.loader import Loaded, load

DOCUMENTS = [
    "a: 1\nb: -2\nc: 0o17\nd: 0x1F\ne: 1_000\nf: 2.5\ng: .inf\nh: -.Inf\ni: .nan\nj: 1e3\n",
    "a: true\nb: False\nc: TRUE\nd: yes\ne: no\nf: on\ng: off\nh: y\ni: n\n",
    "a: null\nb: ~\nc:\nd: Null\ne: ''\nf: \"\"\ng: 'null'\n",
    "a: 2024-01-01\nb: 2001-12-14t21:59:43.10-05:00\nc: 12:30\nd: 1:20:30\ne: 0755\n",
    "a: !!str 3\nb: !!int '7'\nc: !!float 1\nd: !!bool true\ne: !!null ''\nf: !!binary aGk=\n",
    "top:\n  key: value\n  list:\n    - one\n    - {k: v}\n    - [1, 2]\n"
    "  '7': seven\n  8: eight\n",
    "base: &b {x: 1, y: [a, b]}\nuse: *b\nagain: *b\n",
    "text: |\n  line one\n  line two\nfolded: >\n  a\n  b\nq: 'it''s'\ndq: \"tab\\tend\"\n",
    "s: !encrypted gAAAAtoken\nurl: ${env:URL}\nmixed: 'Bearer ${env:TOKEN}'\nesc: $${literal}\n",
    "flow: {a: [1, {b: c}], d: e}\nseq:\n- x\n- y: z\n  w: v\n",
    "? complex\n: value\n'quoted key': 1\n\"dq key\": 2\n",
    "empty_map: {}\nempty_list: []\nnested:\n  - - deep\n    - deeper\n",
    "unicode: héllo wörld ✓\nemoji: '🙂'\n",
    "\ufeffbom: yes\n",
    "---\ndoc: start\n...\n",
    "# only a comment\n",
    "",
]

BAD = [
    "a: 1\na: 2\n",  # duplicate key
    "a: !custom x\n",  # unknown tag
    "a: !encrypted {x: 1}\n",
    "a: !encrypted ''\n",
    "<<: {a: 1}\n",
    "a: [1, 2\n",  # malformed flow
    "a: b: c\n",
    "a:\n  - x\n  y: z\n",
    "url: {x: ${env:URL}}\n",
    "bad: \x07bell\n",  # control character
    "- a\n",
    "just text\n",
    "a: 1\n---\nb: 2\n",  # two documents
    "%YAML 1.1\n---\na: yes\n",
    "x: &a [*a]\n",  # recursive alias
    "a: *nothing\n",
    "{a: 1}: b\n",
    "a: &x 1\nb: &x 2\nc: *x\n",  # anchor defined twice
]


def loaded_both(tmp_path: Path, text: str, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Any]:
    path = tmp_path / "s.yaml"
    path.write_text(text, encoding="utf-8")

    def outcome() -> Any:
        try:
            result = load(path)
        except SpecErrors as exc:
            return ("error", str(exc))
        return summary(result)

    fast = outcome()  # libyaml events, falling back to nodes for anything unusual
    with monkeypatch.context() as patched:
        patched.setattr(events, "build", lambda *args: None)  # libyaml nodes
        nodes = outcome()
    assert nodes == fast
    with monkeypatch.context() as patched:
        patched.setattr(compose, "_FastLoader", None)  # ruamel.yaml composes everything
        reference = outcome()
    return fast, reference


def summary(loaded: Loaded) -> Any:
    def typed(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: typed(v) for k, v in value.items()}
        if isinstance(value, list):
            return [typed(v) for v in value]
        if isinstance(value, float) and value != value:
            return ("nan", type(value).__name__)
        return (value, type(value).__name__)

    def value_at(path: tuple[str | int, ...]) -> Any:
        value: Any = loaded.data
        for part in path:
            value = value[part]
        return value

    # An empty value (``c:``) starts right after its key for libyaml, at the next token for
    # ruamel; no message ever points at an empty value (only strings are resolved), so those
    # value positions are left out of the comparison.
    values = {p: v for p, v in loaded.value_positions.items() if p and value_at(p) is not None}
    return (
        typed(loaded.data),
        dict(loaded.positions),
        values,
        sorted(loaded.references, key=str),
    )


@pytest.mark.parametrize("text", DOCUMENTS + BAD)
def test_fast_path_equals_reference(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    fast, reference = loaded_both(tmp_path, text, monkeypatch)
    assert fast == reference


def test_events_path_is_taken_for_plain_files_only(tmp_path: Path) -> None:
    constructor = compose.ScalarConstructor()
    built = events.build("a: {b: [1, x]}\nc: '${env:X}'\n", "f", constructor)
    assert built is not None
    assert built.data == {"a": {"b": [1, "x"]}, "c": "${env:X}"}
    assert built.positions[("a", "b", 1)] == ("f", 1, 12)
    assert built.references == [("c",)]
    for unusual in ("a: &x 1\nb: *x\n", "a: 1\na: 2\n", "a: !custom 1\n", "- a\n", "", "a: [\n"):
        assert events.build(unusual, "f", constructor) is None, unusual


def test_fast_path_is_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    assert compose._FastLoader is not None  # PyYAML with libyaml is a dependency
    calls: list[str] = []
    original = compose.reference_yaml

    def spy() -> Any:
        calls.append("ruamel")
        return original()

    monkeypatch.setattr(compose, "reference_yaml", spy)
    assert compose.compose("a: [1, {b: c}]\n").id == "mapping"
    assert calls == []
    with pytest.raises(Exception):  # noqa: B017 (ruamel's own error type)
        compose.compose("a: [1\n")
    assert calls == ["ruamel"]  # errors come from the reference


SPEC = """\
version: 1
memory:
  connection: {path: "${env:BENCH_LIVE_PATH}"}
  groups: {g: {description: "${env:BENCH_DESCRIPTION}"}}
  items:
    a: {group: g, token: "${env:BENCH_TOKEN}"}
    b: {group: g, token: !encrypted gAAAAnotatoken}
"""


def test_validate_without_credentials_notes_every_unset_value(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(SPEC, encoding="utf-8")
    spec = load_spec(path, env={}, strict_env=False)
    notes = [str(n) for n in spec.notes]
    assert notes == [
        f"{path}:3:22: environment variable 'BENCH_LIVE_PATH' is not set (plan and apply need it)",
        f"{path}:4:29: environment variable 'BENCH_DESCRIPTION' is not set "
        "(plan and apply need it)",
        f"{path}:6:26: environment variable 'BENCH_TOKEN' is not set (plan and apply need it)",
        f"{path}:7:26: RECONCILER_SECRET_KEY is not set (needed for !encrypted values) "
        "(plan and apply need it)",
    ]
    assert len(spec.desired) == 3  # compiled: references between objects were checked
    with pytest.raises(SpecErrors) as strict:
        load_spec(path, env={})
    assert "environment variable 'BENCH_TOKEN' is not set" in str(strict.value)


def test_validate_without_credentials_still_reports_real_errors(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(SPEC.replace("group: g, token", "group: nowhere, token"), encoding="utf-8")
    with pytest.raises(SpecErrors) as info:
        load_spec(path, env={}, strict_env=False)
    assert "unknown group 'nowhere'" in str(info.value)
    bad_key = {"RECONCILER_SECRET_KEY": "not-a-key"}
    with pytest.raises(SpecErrors) as wrong:
        load_spec(path.with_name("s.yaml"), env=bad_key, strict_env=False)
    assert "RECONCILER_SECRET_KEY is not a valid Fernet key" in str(wrong.value)


def test_unset_variable_in_a_typed_value(tmp_path: Path) -> None:
    """An optional typed value from an unset variable is left out (its default is used); a
    required one stops compile, and a note says the cross-references were not checked."""
    path = tmp_path / "s.yaml"
    path.write_text(
        "version: 1\nsafety: {max_deletes: '${env:BENCH_MAX}'}\n"
        'memory:\n  connection: {path: "${env:BENCH_LIVE_PATH}"}\n  groups: {g: {}}\n',
        encoding="utf-8",
    )
    spec = load_spec(path, env={"BENCH_LIVE_PATH": "x"}, strict_env=False)
    assert [str(n) for n in spec.notes] == [
        f"{path}:2:23: environment variable 'BENCH_MAX' is not set (plan and apply need it)"
    ]
    assert len(spec.desired) == 1
    path.write_text(
        "version: '${env:BENCH_VERSION}'\n"
        'memory:\n  connection: {path: "x"}\n  items: {a: {group: nowhere}}\n',
        encoding="utf-8",
    )
    spec = load_spec(path, env={}, strict_env=False)
    assert "environment variable 'BENCH_VERSION' is not set" in str(spec.notes[0])
    assert str(spec.notes[-1]) == (
        f"{path}:1:1: references between objects not checked: a required value depends on an "
        "unset variable (set it, or run with --strict-env to see which)"
    )


def test_secrets_collected_while_validating(tmp_path: Path) -> None:
    from reconciler import engine

    path = tmp_path / "s.yaml"
    path.write_text(SPEC, encoding="utf-8")
    env = {"BENCH_LIVE_PATH": "x", "BENCH_DESCRIPTION": "d", "BENCH_TOKEN": "tok-1"}
    key = "KR_FfCG9Uy7Q4vJtO63PpFZgVJnNcJ_17kvfGJvdPis="
    from reconciler.secrets.fernet import encrypt

    token = encrypt("tok-2", {"RECONCILER_SECRET_KEY": key})
    path.write_text(SPEC.replace("gAAAAnotatoken", token), encoding="utf-8")
    spec = load_spec(path, env={**env, "RECONCILER_SECRET_KEY": key})
    assert sorted(s.reveal() for s in spec.secrets) == ["tok-1", "tok-2"]
    assert {id(s) for s in spec.secrets} == {id(s) for s in engine.spec_secrets(spec)}
