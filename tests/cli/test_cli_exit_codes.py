"""Every command's documented exit codes (README, CLI table) and its streams: documents on
stdout; progress, notes and errors on stderr. Usage errors exit 1 (never 2, which means
"changes" or "drift") with one line on stderr, for every command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_org import Org

# One bad invocation per command: an unknown value, an unknown option, a missing argument.
USAGE_ERRORS = [
    ["validate"],
    ["validate", "--bogus", "spec.yaml"],
    ["plan", "spec.yaml", "--format", "htm"],
    ["plan"],
    ["apply", "--concurrency", "99"],
    ["apply", "--bogus"],
    ["drift", "spec.yaml", "--format", "htm"],
    ["drift"],
    ["export", "out.yaml"],
    ["sandbox", "--port", "not-a-port"],
    ["schema", "extra-argument"],
    ["secret", "encrypt", "--bogus"],
    ["secret", "keygen", "extra"],
    ["secret", "nothing"],
    ["state", "--bogus"],
    ["nothing"],
    ["--bogus"],
]


@pytest.mark.parametrize("args", USAGE_ERRORS, ids=" ".join)
def test_usage_error_exits_1_with_one_line(org: Org, args: list[str]) -> None:
    result = org.run(*args)
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "--help" in lines[0] and lines[0].startswith("reconciler")
    assert result.stdout == ""
    assert "Traceback" not in result.output


def test_the_issue_typo_is_not_drift(org: Org) -> None:
    result = org.run("drift", str(org.spec), "--format", "htm")
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "reconciler drift: Invalid value for '--format': Value error, 'htm' is not one of "
        "'text', 'json', 'markdown', 'html'. (see reconciler drift --help)"
    )


def test_no_command_exits_1(org: Org) -> None:
    result = org.run()
    assert result.exit_code == 1
    assert "reconciler: missing command (see reconciler --help)" in result.stderr


def test_help_exits_0_on_stdout(org: Org) -> None:
    for args in (["--help"], ["plan", "--help"], ["secret", "--help"]):
        result = org.run(*args)
        assert result.exit_code == 0 and "Usage" in result.stdout, args


def test_validate_0_and_1(org: Org) -> None:
    valid = org.run("validate", str(org.spec))
    assert valid.exit_code == 0 and valid.stdout == ""
    assert "valid (4 objects)" in valid.stderr
    org.write_spec(org.spec.read_text().replace("group: frontend", "group: nowhere"))
    invalid = org.run("validate", str(org.spec))
    assert invalid.exit_code == 1 and invalid.stdout == ""
    assert "unknown group 'nowhere'" in invalid.stderr


def test_plan_0_2_and_1(org: Org, tmp_path: Path) -> None:
    changes = org.run("plan", str(org.spec))
    assert changes.exit_code == 0  # changes, without --detailed-exitcode
    detailed = org.run("plan", str(org.spec), "--detailed-exitcode", "--out", "p.json")
    assert detailed.exit_code == 2
    assert "memory.item.api" in detailed.stdout and "memory.item.api" not in detailed.stderr
    assert "Plan saved to p.json" in detailed.stderr
    assert org.run("apply", str(org.spec), "--auto-approve").exit_code == 0
    none = org.run("plan", str(org.spec), "--detailed-exitcode")
    assert none.exit_code == 0
    missing = org.run("plan", str(tmp_path / "nothing.yaml"), "--detailed-exitcode")
    assert missing.exit_code == 1 and missing.stdout == ""
    assert "nothing.yaml: no such file or directory" in missing.stderr


def refuse_deletes(org: Org) -> None:
    """The spec now drops ``web`` with deletes limited to 0: the plan is refused."""
    assert org.run("apply", str(org.spec), "--auto-approve").exit_code == 0
    text = org.spec.read_text().replace("version: 1\n", "version: 1\nsafety: {max_deletes: 0}\n")
    org.write_spec(text.replace('    web: {group: frontend, value: "w"}\n', ""))


@pytest.mark.parametrize("fmt", ["text", "json", "markdown"])
def test_refused_plan_writes_its_document_then_exits_1(org: Org, fmt: str) -> None:
    refuse_deletes(org)
    result = org.run("plan", str(org.spec), "--format", fmt, "--out", "p.json")
    assert result.exit_code == 1
    assert "max_deletes" in result.stdout  # the violation is in the document (the PR comment)
    assert "memory.item.web" in result.stdout
    assert "refused" in result.stderr.lower()
    if fmt == "markdown":
        assert "**Plan refused:**" in result.stdout
    if fmt == "json":
        assert json.loads(result.stdout)["violations"][0]["rule"] == "max_deletes"
    saved = json.loads(Path("p.json").read_text())
    assert saved["violations"]  # saved too, and refused again by apply --plan
    again = org.run("apply", "--plan", "p.json")
    assert again.exit_code == 1 and "max_deletes" in again.stderr
    assert "memory.item.web" in org.objects()


def test_apply_0_and_1_progress_on_stderr(org: Org) -> None:
    applied = org.run("apply", str(org.spec), "--auto-approve")
    assert applied.exit_code == 0
    # stdout: the plan and the report (documents); stderr: one progress line per change.
    assert "applied memory.item.api" in applied.stderr
    assert "applied memory.item.api" not in applied.stdout
    assert "+ memory.item.api" in applied.stdout and "Apply complete" in applied.stdout
    nothing = org.run("apply", str(org.spec), "--auto-approve")
    assert nothing.exit_code == 0 and "No changes to apply." in nothing.stdout
    refuse_deletes(org)
    refused = org.run("apply", str(org.spec), "--auto-approve")
    assert refused.exit_code == 1 and "max_deletes" in refused.stderr
    no_path = org.run("apply")
    assert no_path.exit_code == 1 and "apply needs a spec PATH" in no_path.stderr


def test_drift_0_2_and_1(org: Org, tmp_path: Path) -> None:
    assert org.run("apply", str(org.spec), "--auto-approve").exit_code == 0
    assert org.run("drift", str(org.spec)).exit_code == 0
    org.edit("memory.item.api", value="by-hand")
    found = org.run("drift", str(org.spec), "--format", "json")
    assert found.exit_code == 2 and json.loads(found.stdout)["drift"] is True
    written = org.run("drift", str(org.spec), "--out", str(tmp_path / "d.txt"))
    assert written.exit_code == 2 and written.stdout == ""
    assert "Drift report written" in written.stderr
    broken = org.run("drift", str(tmp_path / "nothing.yaml"))
    assert broken.exit_code == 1 and broken.stdout == ""


def test_export_0_and_1(org: Org, tmp_path: Path) -> None:
    assert org.run("apply", str(org.spec), "--auto-approve").exit_code == 0
    ok = org.run("export", "--provider", "memory", str(tmp_path / "x.yaml"))
    assert ok.exit_code == 0 and ok.stdout == "" and "Wrote" in ok.stderr
    bad = org.run("export", "--provider", "nope", str(tmp_path / "y.yaml"))
    assert bad.exit_code == 1 and bad.stdout == ""


def test_schema_and_secret_0_and_1(org: Org, monkeypatch: pytest.MonkeyPatch) -> None:
    schema = org.run("schema")
    assert schema.exit_code == 0 and json.loads(schema.stdout) and schema.stderr == ""
    key = org.run("secret", "keygen")
    assert key.exit_code == 0 and key.stderr == ""
    monkeypatch.setenv("RECONCILER_SECRET_KEY", key.stdout.strip())
    token = org.run("secret", "encrypt", input="value\n")
    assert token.exit_code == 0 and token.stdout.startswith("!encrypted ")
    empty = org.run("secret", "encrypt", input="\n")
    assert empty.exit_code == 1 and empty.stdout == ""


def test_interrupted_exits_130(org: Org, monkeypatch: pytest.MonkeyPatch) -> None:
    from reconciler import engine

    def interrupt(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(engine.Session, "make_plan", interrupt)
    result = org.run("plan", str(org.spec))
    assert result.exit_code == 130 and result.stderr.strip() == "interrupted"


def test_validate_needs_no_credentials_plan_does(org: Org, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MEMORY_TOKEN")
    monkeypatch.delenv("MEMORY_PATH")
    valid = org.run("validate", str(org.spec))
    assert valid.exit_code == 0, valid.output
    notes = [line for line in valid.stderr.splitlines() if line.startswith("note: ")]
    assert notes == [
        f"note: {org.spec}:3:22: environment variable 'MEMORY_PATH' is not set "
        "(plan and apply need it)",
        f"note: {org.spec}:9:62: environment variable 'MEMORY_TOKEN' is not set "
        "(plan and apply need it)",
    ]
    assert not (org.spec.parent / ".reconciler").exists()  # no state store either
    strict = org.run("validate", "--strict-env", str(org.spec))
    assert strict.exit_code == 1
    assert f"{org.spec}:9:62: environment variable 'MEMORY_TOKEN' is not set" in strict.stderr
    for command in ("plan", "drift"):
        needs = org.run(command, str(org.spec))
        assert needs.exit_code == 1 and needs.stdout == ""
        assert f"{org.spec}:3:22: environment variable 'MEMORY_PATH' is not set" in needs.stderr
