"""Hostile specs: ``reconciler validate`` on mutations of every provider's example (hypothesis:
lines dropped, duplicated or re-indented, values replaced by other types, unicode, anchors and
aliases, huge scalars) and on hand-made attacks (a billion-laughs document, nesting 10,000
deep, a 5 MB scalar, NUL bytes, invalid UTF-8). Always exit 0, or exit 1 with every line a
located ``file:line:col: message``; never a traceback; an alias bomb refused in bounded time.
"""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

import pytest
from harness import EXAMPLES, ROOT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from reconciler.cli.app import app

LOCATED = re.compile(r"^\S+:\d+:\d+: \S")
VALUES = st.one_of(
    st.text(max_size=40).map(lambda t: '"' + t.replace("\\", "\\\\").replace('"', '\\"') + '"'),
    st.sampled_from(["[]", "{}", "null", "~", "-1", "1e309", "0x1F", "yes", "!!binary AA==",
                     "&anchor x", "*anchor", "*nowhere", "[*a, *a]", "!encrypted 42",
                     "{<<: {a: 1}}", "'\u202e\u0000'", "\ufeff", "|\n  x"]),
)  # fmt: skip


def _validate(spec: Path) -> tuple[int, str, bool]:
    result = CliRunner().invoke(app, ["validate", str(spec)], catch_exceptions=True)
    crashed = result.exception is not None and not isinstance(result.exception, SystemExit)
    return result.exit_code, result.output, crashed or "Traceback" in result.output


def _check(spec: Path) -> None:
    code, output, traceback = _validate(spec)
    assert not traceback, output
    assert code in (0, 1), output
    if code == 1:
        errors = [line for line in output.splitlines() if line.strip()]
        assert errors and all(LOCATED.match(line) for line in errors), output


def _mutate(text: str, data: st.DataObject) -> str:
    lines = text.splitlines()
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(lines) - 1))
        op = data.draw(st.sampled_from(["drop", "dup", "indent", "value", "key", "anchor"]))
        line = lines[i]
        if op == "drop":
            del lines[i]
        elif op == "dup":
            lines.insert(i, line)
        elif op == "indent":
            lines[i] = " " * data.draw(st.integers(0, 9)) + line.lstrip()
        elif op == "value" and ":" in line:
            lines[i] = line.split(":", 1)[0] + ": " + data.draw(VALUES)
        elif op == "key" and ":" in line:
            key = data.draw(st.text(min_size=1, max_size=12).filter(lambda k: "\n" not in k))
            lines[i] = (
                line[: len(line) - len(line.lstrip())] + repr(key) + ":" + line.split(":", 1)[1]
            )
        elif op == "anchor" and ":" in line and not line.rstrip().endswith(":"):
            lines[i] = line.replace(": ", ": &a ", 1)
            lines.append("extra: [*a, *a, *a]")
        if not lines:
            lines = ["version: 1"]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("provider", sorted(EXAMPLES))
@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_mutated_examples_never_crash(provider: str, data: st.DataObject, tmp_path: Path) -> None:
    folder = ROOT / "examples" / EXAMPLES[provider]
    spec = tmp_path / f"spec-{time.monotonic_ns()}"
    shutil.copytree(folder, spec)
    target = data.draw(st.sampled_from(sorted(spec.glob("*.yaml"))))
    target.write_text(_mutate(target.read_text(), data))
    _check(spec)


def _billion_laughs() -> str:
    lines = ["version: 1", 'a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, 10):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    return "\n".join([*lines, "phase: *a9", ""])


ATTACKS = {
    "billion-laughs": _billion_laughs(),
    "deep-lists": "version: 1\nphase: " + "[" * 10_000 + "]" * 10_000 + "\n",
    "deep-maps": "version: 1\nphase:\n" + "".join(" " * i + f" k{i}:\n" for i in range(3000)),
    "huge-scalar": "version: 1\nphase:\n  connection: {url: '" + "x" * 5_000_000 + "'}\n",
    "nul": "version: 1\nphase: {\x00}\n",
    "long-key": "version: 1\n" + "k" * 1_000_000 + ": 1\n",
}


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_attacks_are_refused_with_a_located_error(name: str, tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(ATTACKS[name])
    started = time.monotonic()
    code, output, traceback = _validate(spec)
    assert not traceback and code == 1, output[:500]
    assert LOCATED.match(output), output[:500]
    assert time.monotonic() - started < 30


def test_invalid_utf8_is_located(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_bytes(b"version: 1\nphase: \xff\xfe\n")
    _check(spec)
    assert _validate(spec)[0] == 1
