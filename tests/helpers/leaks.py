"""The secret-leak scan the provider end-to-end tests share: every CLI command with
``RECONCILER_LOG=debug`` (``first_runs`` converges through a saved plan, ``second_runs`` reports
drift, applies and exports after the test has changed things), then no secret in any output,
log, saved plan, drift report, export or the state store (``scan``)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from helpers.example_org import ExampleOrg


def first_runs(org: ExampleOrg) -> tuple[list[str], Path]:
    """Plan to a file, plan as JSON with stats, apply the saved plan, plan as markdown: each
    must succeed. Returns the outputs and the saved plan's path."""
    org.monkeypatch.setenv("RECONCILER_LOG", "debug")
    outputs = []
    spec = str(org.spec)
    saved = org.tmp / "plan.json"
    for args in (
        ("plan", spec, "--out", str(saved)),
        ("plan", spec, "--format", "json", "--stats"),
        ("apply", "--plan", str(saved)),
        ("plan", spec, "--format", "markdown"),
    ):
        result = org.run(*args)
        assert result.exit_code == 0, result.output
        outputs.append(result.output)
    return outputs, saved


def second_runs(org: ExampleOrg, provider: str) -> list[str]:
    """Drift as JSON and HTML, apply (which may fail: its errors are scanned too), export."""
    spec = str(org.spec)
    return [
        org.run(*args).output
        for args in (
            ("drift", spec, "--format", "json"),
            ("drift", spec, "--format", "html", "--out", str(org.tmp / "drift.html")),
            ("apply", spec, "--auto-approve"),
            ("export", "--provider", provider, str(org.tmp / "exported.yaml")),
        )
    ]


def scan(
    org: ExampleOrg, outputs: list[str], logs: str, saved: Path, secrets: Iterable[str]
) -> dict[str, str]:
    """Assert no secret is in any haystack; returns them (to check the scan saw real text)."""
    haystacks = {
        "outputs": "\n".join(outputs),
        "logs": logs,
        "saved plan": saved.read_text(),
        "drift html": (org.tmp / "drift.html").read_text(),
        "export": (org.tmp / "exported.yaml").read_text(),
        "state": (org.tmp / "state.db").read_bytes().decode("latin-1"),
    }
    wanted = list(secrets)
    assert wanted, "no secrets to look for: the scan would pass whatever leaked"
    for where, text in haystacks.items():
        for secret in wanted:
            assert secret not in text, f"a secret leaked into the {where}"
    return haystacks
