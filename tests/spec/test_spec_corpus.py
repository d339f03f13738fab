"""Every invalid spec in tests/specs_bad/ fails with exactly the text its ``# expect:`` lines
give (the full ``SpecErrors`` text, as ``reconciler validate`` prints it)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from reconciler.errors import SpecErrors
from reconciler.spec.load import load_spec


def _corpus() -> ModuleType:
    path = Path(__file__).resolve().parents[1] / "specs_bad" / "cases.py"
    spec = importlib.util.spec_from_file_location("specs_bad_cases", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


corpus = _corpus()


def test_corpus_covers_every_kind_of_error() -> None:
    names = {c.name for c in corpus.CASES}
    assert {
        "malformed_yaml.yaml",
        "unknown_key.yaml",
        "wrong_type.yaml",
        "duplicate_key.yaml",
        "duplicate_across",
        "dangling_group.yaml",
        "dangling_owner.yaml",
        "missing_env.yaml",
        "bad_encrypted.yaml",
        "inline_secret.yaml",
        "wrong_version.yaml",
    } <= names


@pytest.mark.parametrize("case", corpus.CASES, ids=lambda c: c.name)
def test_bad_spec_fails_with_expected_text(case: object) -> None:
    with pytest.raises(SpecErrors) as info:
        load_spec(case.path, env=dict(corpus.ENV))  # type: ignore[attr-defined]
    assert str(info.value) == case.expected()  # type: ignore[attr-defined]


@pytest.mark.parametrize("case", corpus.CASES, ids=lambda c: c.name)
def test_expected_text_for_a_relative_spelling(
    case: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(corpus.CORPUS.parent)
    relative = Path(corpus.CORPUS.name) / case.name  # type: ignore[attr-defined]
    with pytest.raises(SpecErrors) as info:
        load_spec(relative, env=dict(corpus.ENV))
    assert str(info.value) == case.expected(corpus.CORPUS.name)  # type: ignore[attr-defined]
