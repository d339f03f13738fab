"""Documents: the root model and human, located, value-free validation messages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, field_validator

from reconciler.errors import Location, SpecError
from reconciler.providers.base import CompileContext, Compiled, ProviderPlugin
from reconciler.providers.registry import plugins
from reconciler.spec.documents import Safety, build_root_model, root_model, validate
from reconciler.spec.loader import load


def messages(text: str, tmp_path: Path, model: type[BaseModel] | None = None) -> list[str]:
    f = tmp_path / "s.yaml"
    f.write_text(text, encoding="utf-8")
    loaded = load(f)
    document, errors = validate(loaded.data, loaded.locate, model=model)
    assert document is None
    return [str(e).replace(f"{f}:", "") for e in sorted(errors, key=_key)]


def _key(e: SpecError) -> tuple[int, int]:
    assert e.location is not None
    return (e.location.line, e.location.column)


def test_root_model_has_version_safety_and_one_key_per_plugin() -> None:
    fields = root_model().model_fields
    assert list(fields) == ["version", "safety", *plugins()]
    assert fields["version"].is_required()
    assert not fields["safety"].is_required()
    assert root_model() is root_model()


def test_minimal_document_defaults() -> None:
    doc = root_model().model_validate({"version": 1})
    assert doc.safety == Safety(max_deletes=10, max_delete_share=0.5)  # type: ignore[attr-defined]
    assert doc.memory is None  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("version: 1\nfoo: 1\n", ["2:1: unknown key 'foo'"]),
        ("foo: 1\n", ["1:1: missing required key 'version'", "1:1: unknown key 'foo'"]),
        ("version: 2\n", ["1:1: unsupported spec version (this reconciler reads version 1)"]),
        ("version: '1'\n", ["1:1: unsupported spec version (this reconciler reads version 1)"]),
        ("version: 1\nsafety: {max_deletes: x}\n", ["2:10: expected an integer"]),
        ("version: 1\nsafety: {max_deletes: -1}\n", ["2:10: expected greater than or equal to 0"]),
        (
            "version: 1\nsafety: {max_deletes: 99999999999999999999}\n",
            ["2:10: expected less than or equal to 1000000"],
        ),
        ("version: 1\nsafety: {max_delete_share: 2}\n", ["2:10: expected less than or equal to 1"]),
        ("version: 1\nsafety: [1]\n", ["2:1: expected a mapping"]),
        ("version: 1\nmemory: {}\n", ["2:1: missing required key 'connection'"]),
        (
            "version: 1\nmemory:\n  connection: {path: [x]}\n  prune: groups\n",
            ["3:16: expected a string", "4:3: expected a list"],
        ),
        (
            "version: 1\nmemory:\n  connection: {path: x}\n"
            "  items: {a: {group: g, tags: [1, x]}}\n",
            ["4:32: expected a string"],
        ),
    ],
)
def test_messages(tmp_path: Path, text: str, expected: list[str]) -> None:
    assert messages(text, tmp_path) == expected


def test_messages_never_contain_the_input_value(tmp_path: Path) -> None:
    secret = "s3cr3t-VALUE-xyz"
    text = (
        "version: 1\n"
        f"safety: {{max_deletes: {secret}, max_delete_share: {secret}}}\n"
        f"memory:\n  connection: {{path: {{{secret}: 1}}}}\n"
        f"  items: {{a: {{group: [{secret}], token: {secret}}}}}\n"
    )
    found = messages(text, tmp_path)
    assert len(found) == 5
    assert all(secret not in m for m in found)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str

    @field_validator("name")
    @classmethod
    def _check(cls, value: str) -> str:
        # A careless validator quoting its input: validate() must still not leak it.
        raise ValueError(f"bad name {value!r}")


def _plugin() -> ProviderPlugin:
    def compile_(section: Any, ctx: CompileContext) -> Compiled:
        return Compiled(resources=[])

    def open_(section: Any, store: Any) -> Any:
        raise NotImplementedError

    return ProviderPlugin(name="strict", section=_Strict, compile=compile_, open=open_)


def test_custom_validator_text_is_kept_and_secrets_redacted(tmp_path: Path) -> None:
    model = build_root_model({"strict": _plugin()})
    f = tmp_path / "s.yaml"
    f.write_text("version: 1\nstrict: {name: hunter2}\n", encoding="utf-8")
    loaded = load(f)
    from reconciler.secrets.value import Secret

    _, errors = validate(loaded.data, loaded.locate, model=model, secrets=[Secret("hunter2")])
    assert [str(e) for e in errors] == [f"{f}:2:10: bad name '(sensitive)'"]


def test_skip_drops_errors_under_failed_values(tmp_path: Path) -> None:
    f = tmp_path / "s.yaml"
    f.write_text("version: 1\nsafety: {max_deletes: x}\n", encoding="utf-8")
    loaded = load(f)
    _, errors = validate(loaded.data, loaded.locate, skip=[("safety", "max_deletes")])
    assert errors == []


def test_error_location_is_a_location(tmp_path: Path) -> None:
    f = tmp_path / "s.yaml"
    f.write_text("version: 1\nnope: 1\n", encoding="utf-8")
    loaded = load(f)
    _, errors = validate(loaded.data, loaded.locate)
    assert errors[0].location == Location(str(f), 2, 1)
    assert errors[0].message == "unknown key 'nope'"
