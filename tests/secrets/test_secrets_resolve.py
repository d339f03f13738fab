"""Value resolution: ${env:}, ${file:}, !encrypted, escapes, and located value-free errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.errors import Location, SpecErrors
from reconciler.secrets.fernet import SecretsError, encrypt, generate_key
from reconciler.secrets.field import Reference
from reconciler.secrets.resolve import Encrypted, interpolate, resolve_values
from reconciler.spec.load import load_spec

HERE = Path("/nonexistent")


def test_plain_strings_are_untouched() -> None:
    out = interpolate("plain $ text {x}", env={}, base_dir=HERE)
    assert out == "plain $ text {x}" and type(out) is str


def test_env_anywhere_in_a_string_gives_a_reference() -> None:
    out = interpolate("Bearer ${env:T}-${env:U}", env={"T": "a", "U": ""}, base_dir=HERE)
    assert out == "Bearer a-" and isinstance(out, Reference)


def test_escape_gives_literal_and_no_reference() -> None:
    out = interpolate("cost $${env:X} and $$", env={}, base_dir=HERE)
    assert out == "cost ${env:X} and $$" and not isinstance(out, Reference)


def test_file_relative_to_base_dir_strips_trailing_newlines(tmp_path: Path) -> None:
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "t.txt").write_text("line1\nline2\r\n\n", encoding="utf-8")
    out = interpolate("${file:keys/t.txt}", env={}, base_dir=tmp_path)
    assert out == "line1\nline2" and isinstance(out, Reference)
    absolute = interpolate(f"${{file:{tmp_path / 'keys' / 't.txt'}}}", env={}, base_dir=HERE)
    assert absolute == "line1\nline2"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("${env:NOPE}", "environment variable 'NOPE' is not set"),
        ("${env:1X}", "invalid environment variable name '1X' in ${env:…}"),
        ("${vault:x}", "unknown reference '${vault:x}' (use ${env:NAME} or ${file:path})"),
        ("${NOPE}", "unknown reference '${NOPE}' (use ${env:NAME} or ${file:path})"),
        ("a ${env:X", "unterminated '${' (write '$${' for a literal '${')"),
        ("${file:}", "empty path in ${file:…}"),
        ("${file:missing.txt}", "cannot read file 'missing.txt': no such file or directory"),
    ],
)
def test_errors(text: str, message: str, tmp_path: Path) -> None:
    with pytest.raises(SecretsError) as info:
        interpolate(text, env={"X": "v"}, base_dir=tmp_path)
    assert str(info.value) == message


def test_unreadable_and_binary_files(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    with pytest.raises(SecretsError, match="cannot read file 'd'"):
        interpolate("${file:d}", env={}, base_dir=tmp_path)
    (tmp_path / "b").write_bytes(b"\xff\xfe")
    with pytest.raises(SecretsError, match="file 'b' is not UTF-8 text"):
        interpolate("${file:b}", env={}, base_dir=tmp_path)


def test_resolve_values_walks_tree_and_collects_errors(tmp_path: Path) -> None:
    key = generate_key()
    env = {"A": "alpha", "RECONCILER_SECRET_KEY": key}
    token = encrypt("beta", env=env)
    data = {"x": ["${env:A}", 3, {"y": Encrypted(token)}], "k${env:A}": "${env:MISSING}"}
    where = Location(str(tmp_path / "s.yaml"), 1, 1)
    result = resolve_values(data, locate=lambda p: where, env=env)
    assert result.data["x"] == ["alpha", 3, {"y": "beta"}]
    assert isinstance(result.data["x"][0], Reference)
    assert isinstance(result.data["x"][2]["y"], Reference)
    assert "k${env:A}" in result.data  # keys are never resolved
    assert result.failed == {("k${env:A}",)}
    assert [str(e) for e in result.errors] == [
        f"{where}: environment variable 'MISSING' is not set"
    ]
    assert sorted(s.reveal() for s in result.secrets) == ["alpha", "beta"]


def test_spec_file_reference_is_relative_to_its_own_file(tmp_path: Path) -> None:
    (tmp_path / "set" / "sub").mkdir(parents=True)
    (tmp_path / "set" / "token.txt").write_text("tok\n", encoding="utf-8")
    (tmp_path / "set" / "org.yaml").write_text(
        "version: 1\nmemory:\n  connection: {path: ':memory:'}\n  groups: {g: {}}\n"
        "  items: {i: {group: g, token: '${file:token.txt}'}}\n",
        encoding="utf-8",
    )
    spec = load_spec(tmp_path / "set", env={})
    item = next(r for r in spec.desired.resources() if r.address.kind == "item")
    assert item.secrets["token"].reveal() == "tok"


def test_encrypted_values_in_a_spec(tmp_path: Path) -> None:
    key = generate_key()
    token = encrypt("enc-value", env={"RECONCILER_SECRET_KEY": key})
    f = tmp_path / "s.yaml"
    f.write_text(
        "version: 1\nmemory:\n  connection: {path: ':memory:'}\n  groups: {g: {}}\n"
        f"  items:\n    i: {{group: g, token: !encrypted {token}}}\n"
        "    j: {group: g, token: !encrypted also-bad}\n",
        encoding="utf-8",
    )
    with pytest.raises(SpecErrors) as info:
        load_spec(f, env={})
    assert [e.message for e in info.value.errors] == [
        "RECONCILER_SECRET_KEY is not set (needed for !encrypted values)"
    ] * 2
    assert info.value.errors[0].location == Location(str(f), 6, 26)
    with pytest.raises(SpecErrors) as info:
        load_spec(f, env={"RECONCILER_SECRET_KEY": key})
    assert len(info.value.errors) == 1 and info.value.errors[0].location.line == 7  # type: ignore[union-attr]
    f.write_text(f.read_text().replace("!encrypted also-bad", "'${env:J}'"))
    spec = load_spec(f, env={"RECONCILER_SECRET_KEY": key, "J": "jay"})
    items = {r.address.name: r for r in spec.desired.resources() if r.address.kind == "item"}
    assert items["i"].secrets["token"].reveal() == "enc-value"
    assert "enc-value" not in repr(spec.sections["memory"])
