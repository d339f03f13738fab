"""End-to-end CLI behaviour over the memory provider (a JSON live file)."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest
from cli_org import TOKEN, Org

from reconciler.state.sqlite import SQLiteStateStore

SCHEMA = Path(__file__).resolve().parents[2] / "specs" / "plan.schema.json"


def test_plan_apply_then_plan_is_empty(org: Org) -> None:
    first = org.run("plan", str(org.spec), "--detailed-exitcode")
    assert first.exit_code == 2, first.output
    assert "memory.item.api" in first.stdout

    applied = org.run("apply", str(org.spec), "--auto-approve")
    assert applied.exit_code == 0, applied.output
    # Not a terminal: one plain progress line per change (stderr), then the report (stdout).
    assert re.search(r"^applied memory\.group\.backend \(\d+\.\d\ds\)$", applied.stderr, re.M)
    assert "applied memory." not in applied.stdout
    assert "Apply complete: 4 applied, 0 skipped, 0 failed, 0 deferred" in applied.stdout
    assert set(org.objects()) == {
        "memory.group.backend",
        "memory.group.frontend",
        "memory.item.api",
        "memory.item.web",
    }

    again = org.run("plan", str(org.spec), "--detailed-exitcode")
    assert again.exit_code == 0, again.output
    assert "no changes" in again.stdout.lower()

    plain = org.run("plan", str(org.spec))
    assert plain.exit_code == 0


def test_plan_without_detailed_exitcode_exits_zero(org: Org) -> None:
    assert org.run("plan", str(org.spec)).exit_code == 0


def test_apply_without_approval_is_refused_when_not_interactive(org: Org) -> None:
    result = org.run("apply", str(org.spec))
    assert result.exit_code == 1
    assert "--auto-approve" in result.stderr and "non-interactive" in result.stderr
    assert not org.live.exists() or not org.objects()


def test_saved_plan_applies_exactly(org: Org, tmp_path: Path) -> None:
    assert org.run("apply", str(org.spec), "--auto-approve").exit_code == 0
    org.write_spec(org.spec.read_text().replace('value: "1"', 'value: "2"'))
    saved = tmp_path / "p.json"
    made = org.run("plan", str(org.spec), "--out", str(saved))
    assert made.exit_code == 0, made.output
    assert json.loads(saved.read_text())["summary"]["update"] == 1

    applied = org.run("apply", "--plan", str(saved))
    assert applied.exit_code == 0, applied.output
    assert org.objects()["memory.item.api"]["attributes"]["value"] == "2"
    assert org.run("plan", str(org.spec), "--detailed-exitcode").exit_code == 0


def test_stale_saved_plan_is_refused_with_new_diff(org: Org, tmp_path: Path) -> None:
    assert org.run("apply", str(org.spec), "--auto-approve").exit_code == 0
    org.write_spec(org.spec.read_text().replace('value: "1"', 'value: "2"'))
    saved = tmp_path / "p.json"
    assert org.run("plan", str(org.spec), "--out", str(saved)).exit_code == 0

    org.edit("memory.item.api", value="changed-by-hand")
    before = org.live.read_text()
    refused = org.run("apply", "--plan", str(saved))
    assert refused.exit_code == 1
    assert "stale" in refused.stderr and "memory.item.api" in refused.stderr
    assert "Traceback" not in refused.output
    assert "changed-by-hand" in refused.stdout  # the re-plan's diff shows the new live value
    assert org.live.read_text() == before  # nothing changed


def test_saved_plan_from_another_spec_version_is_refused(org: Org, tmp_path: Path) -> None:
    saved = tmp_path / "p.json"
    assert org.run("plan", str(org.spec), "--out", str(saved)).exit_code == 0
    org.write_spec(org.spec.read_text() + "    extra: {group: backend}\n")
    result = org.run("apply", "--plan", str(saved))
    assert result.exit_code == 1 and "spec changed" in result.stderr
    assert not org.live.exists()


def test_edited_saved_plan_is_refused(org: Org, tmp_path: Path) -> None:
    saved = tmp_path / "p.json"
    assert org.run("plan", str(org.spec), "--out", str(saved)).exit_code == 0
    data = json.loads(saved.read_text())
    data["changes"] = data["changes"][:1]
    saved.write_text(json.dumps(data))
    result = org.run("apply", "--plan", str(saved))
    assert result.exit_code == 1 and "digest" in result.stderr


def test_plan_json_and_markdown(org: Org) -> None:
    result = org.run("plan", str(org.spec), "--format", "json")
    assert result.exit_code == 0
    body = json.loads(result.stdout)
    assert body["format"] == "reconciler.plan/v1" and body["summary"]["create"] == 4
    if SCHEMA.exists():
        import jsonschema

        jsonschema.validate(body, json.loads(SCHEMA.read_text()))
    md = org.run("plan", str(org.spec), "--format", "markdown")
    assert md.exit_code == 0 and "memory.item.api" in md.stdout and "|" in md.stdout


def test_stats(org: Org) -> None:
    result = org.run("plan", str(org.spec), "--stats")
    assert result.exit_code == 0
    assert re.search(r"requests memory: \d+", result.stderr)
    assert "wall time:" in result.stderr


def test_write_only_value_never_leaks(org: Org, tmp_path: Path) -> None:
    results = [
        org.run("plan", str(org.spec)),
        org.run("plan", str(org.spec), "--format", "json"),
        org.run("plan", str(org.spec), "--format", "markdown"),
        org.run("plan", str(org.spec), "--out", str(tmp_path / "p.json")),
        org.run("apply", "--plan", str(tmp_path / "p.json")),
    ]
    assert all(r.exit_code == 0 for r in results), org.outputs(results)
    org.write_spec(org.spec.read_text().replace("${env:MEMORY_TOKEN}", "${env:OTHER_TOKEN}"))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OTHER_TOKEN", TOKEN + "-rotated")
        changed = org.run("plan", str(org.spec), "--detailed-exitcode")
        assert changed.exit_code == 2  # compared by fingerprint: a new token is a change
        assert "(sensitive)" in changed.stdout
        results.append(changed)
        for fmt in ("text", "json", "markdown", "html"):
            results.append(org.run("drift", str(org.spec), "--format", fmt))
    text = org.outputs(results)
    assert TOKEN not in text
    for path in [*tmp_path.rglob("*")]:
        if path.is_file():
            assert TOKEN.encode() not in path.read_bytes(), path


def test_bad_spec_reports_location_without_traceback(org: Org) -> None:
    org.write_spec(org.spec.read_text().replace("group: frontend", "group: nowhere"))
    for command in ("validate", "plan", "apply"):
        result = (
            org.run(command, str(org.spec), "--auto-approve")
            if command == "apply"
            else (org.run(command, str(org.spec)))
        )
        assert result.exit_code == 1, command
        assert re.search(r"spec\.yaml:\d+:\d+: unknown group 'nowhere'", result.stderr), command
        assert "Traceback" not in result.output
    assert org.run("validate", str(org.spec.parent / "missing.yaml")).exit_code == 1


def test_validate_ok(org: Org) -> None:
    result = org.run("validate", str(org.spec))
    assert result.exit_code == 0 and "valid" in result.stderr


def test_internal_error_is_one_line(org: Org, monkeypatch: pytest.MonkeyPatch) -> None:
    from reconciler import engine

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError(f"boom {TOKEN}")

    monkeypatch.setattr(engine.Session, "make_plan", broken)
    result = org.run("plan", str(org.spec))
    assert result.exit_code == 1
    assert "internal error: RuntimeError: boom (sensitive)" in result.stderr
    assert "Traceback" not in result.output and TOKEN not in result.output
    monkeypatch.setenv("RECONCILER_DEBUG", "1")
    debug = org.run("plan", str(org.spec))
    assert "Traceback" in debug.stderr and TOKEN not in debug.output


def test_failed_apply_reports_each_change(org: Org, monkeypatch: pytest.MonkeyPatch) -> None:
    from reconciler import engine
    from reconciler.providers import memory

    def failing_open(section: memory.MemorySection, store: object) -> memory.MemoryProvider:
        provider = memory.MemoryProvider(memory.LiveStore(section.connection.path))
        provider.fail["memory.group.backend"] = "HTTP 503 from upstream"
        return provider

    plugin = dataclasses.replace(memory.PLUGIN, open=failing_open)
    monkeypatch.setattr(engine.reading, "plugins", lambda: {"memory": plugin})
    result = org.run("apply", str(org.spec), "--auto-approve")
    assert result.exit_code == 1
    assert "failed memory.group.backend" in result.stdout
    assert "HTTP 503 from upstream" in result.stdout
    assert "skipped memory.item.api: depends on failed memory.group.backend" in result.stdout
    assert "applied memory.item.web" in result.stderr  # progress
    assert "Apply failed: 2 applied, 1 skipped, 1 failed, 0 deferred" in result.stdout


def test_apply_waits_for_nobody_but_reports_lock(org: Org) -> None:
    store = SQLiteStateStore(org.spec.parent / ".reconciler" / "state.db")
    with store.lock(f"memory:{org.live}", "ci@runner-3"):
        result = org.run("apply", str(org.spec), "--auto-approve")
    store.close()
    assert result.exit_code == 1
    assert "apply lock held by ci@runner-3" in result.stderr
    assert not org.live.exists()


def test_export_then_plan_is_empty(org: Org, tmp_path: Path) -> None:
    assert org.run("apply", str(org.spec), "--auto-approve").exit_code == 0
    out = tmp_path / "adopted" / "spec.yaml"
    result = org.run("export", "--provider", "memory", str(out))
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert "${env:MEMORY_PATH}" in text and str(org.live) not in text
    assert org.run("plan", str(out), "--detailed-exitcode").exit_code == 0
    unknown = org.run("export", "--provider", "nope", str(out))
    assert unknown.exit_code == 1 and "unknown provider 'nope'" in unknown.stderr


def test_schema_and_secret_commands(org: Org, monkeypatch: pytest.MonkeyPatch) -> None:
    schema = org.run("schema")
    assert schema.exit_code == 0 and json.loads(schema.stdout)["$schema"].startswith("https://")

    key = org.run("secret", "keygen").stdout.strip()
    assert len(key) == 44
    monkeypatch.setenv("RECONCILER_SECRET_KEY", key)
    encrypted = org.run("secret", "encrypt", input="s3cr3t-value\n")
    assert encrypted.exit_code == 0, encrypted.output
    token = encrypted.stdout.strip()
    assert token.startswith("!encrypted gAAAA") and "s3cr3t-value" not in encrypted.output

    from reconciler.secrets.fernet import decrypt

    assert decrypt(token.split(" ", 1)[1]) == "s3cr3t-value"
    monkeypatch.delenv("RECONCILER_SECRET_KEY")
    missing = org.run("secret", "encrypt", input="x\n")
    assert missing.exit_code == 1 and "RECONCILER_SECRET_KEY" in missing.stderr
