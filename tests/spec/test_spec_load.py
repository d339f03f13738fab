"""load_spec: validated documents compiled to desired State and Policy; digest; error stages."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from reconciler.address import Address
from reconciler.errors import SpecError, SpecErrors
from reconciler.plan.policy import Policy, SafetyLimits
from reconciler.providers.base import CompileContext, Compiled, ProviderPlugin
from reconciler.providers.registry import plugins
from reconciler.secrets.value import Secret
from reconciler.spec.load import load_spec

EXAMPLE = Path(__file__).resolve().parents[2] / "specs" / "memory.yaml"
ENV = {"MEMORY_PATH": ":memory:", "MEMORY_TOKEN": "tok-3n7Q"}


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_example_spec_compiles() -> None:
    spec = load_spec(EXAMPLE, env=ENV)
    assert spec.path == EXAMPLE
    assert list(spec.sections) == ["memory"]
    assert [str(a) for a in spec.desired] == [
        "memory.group.backend",
        "memory.group.frontend",
        "memory.item.api",
        "memory.item.web",
        "memory.member.alice@acme.io",
        "memory.member.bob@acme.io",
    ]
    assert spec.policy == Policy(
        prune=frozenset({("memory", "group"), ("memory", "item")}),
        protect=frozenset({Address("memory", "member", "owner@acme.io")}),
        limits=SafetyLimits(max_deletes=5, max_delete_share=0.2),
    )
    api = spec.desired[Address("memory", "item", "api")]
    assert api.attributes["token"] is None  # no fingerprint key given
    assert api.secrets["token"].reveal() == "tok-3n7Q"
    assert api.location is not None and api.location.line > 1


def test_fingerprint_key_fills_sensitive_attributes() -> None:
    spec = load_spec(EXAMPLE, env=ENV, fingerprint_key=b"k1")
    api = spec.desired[Address("memory", "item", "api")]
    assert api.attributes["token"] == Secret("tok-3n7Q").fingerprint(b"k1")
    assert "tok-3n7Q" not in repr(api) and "tok-3n7Q" not in str(api.to_dict())
    web = spec.desired[Address("memory", "item", "web")]
    assert "token" not in web.attributes


def test_default_policy_without_safety(tmp_path: Path) -> None:
    f = write(tmp_path / "s.yaml", "version: 1\n")
    spec = load_spec(f, env={})
    assert spec.policy == Policy()
    assert len(spec.desired) == 0 and spec.sections == {}


def test_digest_is_stable_and_content_sensitive(tmp_path: Path) -> None:
    d = tmp_path / "set"
    write(d / "a.yaml", "version: 1\n")
    write(d / "b.yaml", "safety: {max_deletes: 1}\n")
    first = load_spec(d, env={}).digest
    assert len(first) == 64
    copy = tmp_path / "elsewhere"
    shutil.copytree(d, copy)
    assert load_spec(copy, env={}).digest == first  # independent of where the set lives
    write(d / "b.yaml", "safety: {max_deletes: 2}\n")
    assert load_spec(d, env={}).digest != first
    write(d / "b.yaml", "safety: {max_deletes: 1}\n")
    (d / "b.yaml").rename(d / "c.yaml")
    assert load_spec(d, env={}).digest != first  # file names are part of the digest


def test_resolution_and_schema_errors_reported_together(tmp_path: Path) -> None:
    f = write(
        tmp_path / "s.yaml",
        "version: 1\nsafety: {max_deletes: '${env:MISSING}', extra: 1}\n",
    )
    with pytest.raises(SpecErrors) as info:
        load_spec(f, env={})
    # the failed value does not also produce "expected an integer"
    assert str(info.value).splitlines() == [
        f"{f}:2:23: environment variable 'MISSING' is not set",
        f"{f}:2:41: unknown key 'extra'",
    ]


def test_interpolated_number_is_converted(tmp_path: Path) -> None:
    f = write(tmp_path / "s.yaml", "version: 1\nsafety: {max_deletes: '${env:N}'}\n")
    assert load_spec(f, env={"N": "3"}).policy.limits.max_deletes == 3


def test_reference_errors_of_all_items_in_one_pass(tmp_path: Path) -> None:
    f = write(
        tmp_path / "s.yaml",
        "version: 1\nmemory:\n  connection: {path: ':memory:'}\n"
        "  items:\n    a: {group: g1}\n    b: {group: g2, owner: x@y.z}\n",
    )
    with pytest.raises(SpecErrors) as info:
        load_spec(f, env={})
    assert [e.message for e in info.value.errors] == [
        "unknown group 'g1'",
        "unknown group 'g2'",
        "unknown member 'x@y.z'",
    ]


def test_reference_errors_wait_for_schema_errors(tmp_path: Path) -> None:
    f = write(
        tmp_path / "s.yaml",
        "version: 1\nmemory:\n  connection: {path: ':memory:'}\n"
        "  items:\n    a: {group: g1}\n  bogus: 1\n",
    )
    with pytest.raises(SpecErrors) as info:
        load_spec(f, env={})
    assert [e.message for e in info.value.errors] == ["unknown key 'bogus'"]


def _raising_plugin(name: str, exc: SpecError) -> ProviderPlugin:
    base = plugins()["memory"]

    def compile_(section: Any, ctx: CompileContext) -> Compiled:
        raise exc

    return ProviderPlugin(name=name, section=base.section, compile=compile_, open=base.open)


def test_compile_errors_of_several_providers_merge_and_are_redacted(tmp_path: Path) -> None:
    f = write(
        tmp_path / "s.yaml",
        "version: 1\none: {connection: {path: '${env:P}'}}\ntwo: {connection: {path: x}}\n",
    )
    registry = {
        "one": _raising_plugin("one", SpecError("leaks p4ss-W0rd by mistake")),
        "two": _raising_plugin("two", SpecErrors([SpecError("a"), SpecError("b")])),
    }
    with pytest.raises(SpecErrors) as info:
        load_spec(f, env={"P": "p4ss-W0rd"}, registry=registry)
    assert sorted(e.message for e in info.value.errors) == [
        "a",
        "b",
        "leaks (sensitive) by mistake",
    ]


def test_same_address_twice_is_an_error(tmp_path: Path) -> None:
    f = write(
        tmp_path / "s.yaml",
        "version: 1\nmemory:\n  connection: {path: x}\n  members:\n    a@b.c: {}\n    A@B.C: {}\n",
    )
    with pytest.raises(SpecErrors) as info:
        load_spec(f, env={})
    assert str(info.value) == (
        f"{f}:6:5: 'memory.member.a@b.c' is declared twice (first at {f}:5:5)"
    )


def test_default_env_is_os_environ(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECONCILER_TEST_N", "4")
    f = write(
        tmp_path / "s.yaml", "version: 1\nsafety: {max_deletes: '${env:RECONCILER_TEST_N}'}\n"
    )
    assert load_spec(f).policy.limits.max_deletes == 4
