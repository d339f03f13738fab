"""The Flagsmith example organisation end to end through the CLI against the sandbox:
convergence with pending invites completed after acceptance, graded drift, export, write-only
secrets (never the placeholder, not even against a server that would store it), the server's
Azure DevOps check, soft-delete revival, and project deletes with what goes with them."""

from __future__ import annotations

import json
from pathlib import Path

from flagsmith_org import Org

WEB_ADO = "flagsmith.integration.web/azure_devops"


def _grants(org: Org, table: str) -> list[dict[str, object]]:
    return org.table(table)


def test_example_converges_and_pending_grants_complete_after_acceptance(org: Org) -> None:
    org.converge()
    plan = org.plan_json()
    deferred = {c["address"] for c in plan["changes"] if c["action"] == "deferred"}
    assert "flagsmith.project_permission.web/user:alice@acme.io" in deferred
    assert "flagsmith.member.bob@acme.io" in deferred
    org.accept("alice@acme.io", "bob@acme.io")
    org.converge()
    assert not [c for c in org.plan_json()["changes"]]
    users = {u["email"]: u["id"] for u in org.table("users")}
    grants = [g for g in org.table("project_permissions") if g["user"] == users["alice@acme.io"]]
    assert grants and grants[0]["admin"] is True
    backend = next(g for g in org.table("groups") if g["name"] == "backend")
    assert backend["users"] == [users["bob@acme.io"]]
    roles = {m["user"]: m["role"] for m in org.table("memberships")}
    assert roles[users["alice@acme.io"]] == "ADMIN"


def test_out_of_band_changes_are_graded_and_repaired(org: Org) -> None:
    org.converge()
    org.changes(
        {
            "op": "set_integration",
            "project": "web",
            "kind": "gitlab",
            "fields": {"labeling_enabled": False},
        },
        {"op": "delete_environment", "project": "api", "name": "Staging"},
        {"op": "create_project", "name": "legacy"},
        {
            "op": "set_integration",
            "project": "web",
            "kind": "datadog",
            "fields": {"api_key": "typo"},
        },
    )
    found = org.drift()
    assert found["flagsmith.integration.web/gitlab"][0] == "changed"
    assert found["flagsmith.environment.api/Staging"][0] == "missing"
    assert found["flagsmith.project.legacy"][:2] == ("unmanaged", "delete")
    grade, _action, details = found["flagsmith.integration.web/datadog"]
    assert grade == "changed" and "typo" not in " ".join(details)
    org.converge("--allow-deletes")
    assert org.stored("web", "datadog")["api_key"] == org.secrets["DD_API_KEY"]
    assert "legacy" not in {p["name"] for p in org.table("projects")}


def test_export_plans_empty_with_secret_references(org: Org, tmp_path: Path) -> None:
    org.converge()
    org.accept("alice@acme.io", "bob@acme.io")
    org.converge()
    out = tmp_path / "exported" / "flagsmith.yaml"
    result = org.run("export", "--provider", "flagsmith", str(out))
    assert result.exit_code == 0, result.output
    text = out.read_text()
    for value in org.secrets.values():
        assert value not in text
    assert "${env:FLAGSMITH_WEB_AZURE_DEVOPS_PERSONAL_ACCESS_TOKEN}" in text
    assert "secrets are read from: FLAGSMITH_WEB_AZURE_DEVOPS_PERSONAL_ACCESS_TOKEN" in text
    org.setenv("FLAGSMITH_WEB_AZURE_DEVOPS_PERSONAL_ACCESS_TOKEN", org.secrets["ADO_PAT"])
    org.setenv("FLAGSMITH_WEB_GITLAB_ACCESS_TOKEN", org.secrets["GITLAB_TOKEN"])
    org.setenv("FLAGSMITH_WEB_DATADOG_API_KEY", org.secrets["DD_API_KEY"])
    org.monkeypatch.setenv("RECONCILER_STATE", str(tmp_path / "adopting.db"))  # nothing applied
    first = org.run("plan", str(out), "--detailed-exitcode")
    assert first.exit_code == 0, first.output
    assert first.output.count("cannot verify: write-only") == 2  # ADO PAT, GitLab token
    again = org.run("plan", str(out), "--detailed-exitcode")
    assert again.exit_code == 0 and "cannot verify" not in again.output  # reported once
    org.setenv("FLAGSMITH_WEB_GITLAB_ACCESS_TOKEN", "glpat-rotated")
    rotated = org.run("plan", str(out), "--detailed-exitcode")
    assert rotated.exit_code == 2 and "flagsmith.integration.web/gitlab" in rotated.output


def test_placeholder_is_never_sent_even_to_a_server_that_would_store_it(org: Org) -> None:
    org.ctl("POST", "settings/", {"bug_placeholder": True})
    # six converges would wait on the 240/min default; the sandbox does not throttle
    org.edit(
        "flagsmith.yaml",
        "    api_key: ${env:FLAGSMITH_API_KEY}",
        "    api_key: ${env:FLAGSMITH_API_KEY}\n    rate_limit: 100000",
    )
    org.converge()
    steps = [
        (
            "labeling_enabled: true\n          tagging_enabled: false",
            "labeling_enabled: false\n          tagging_enabled: true",
        ),
        None,  # rotate both tokens
        (
            "labeling_enabled: false\n          tagging_enabled: true",
            "labeling_enabled: true\n          tagging_enabled: true",
        ),
        ("gitlab_instance_url: https://gitlab.com", "gitlab_instance_url: https://gitlab.example"),
    ]
    for n, step in enumerate(steps):
        if step is None:
            org.setenv("ADO_PAT", f"ado-pat-rotated-{n}")
            org.setenv("GITLAB_TOKEN", f"glpat-rotated-{n}")
        else:
            org.edit("flagsmith.yaml", *step)
        org.converge()
        assert org.stored("web", "azure-devops")["personal_access_token"] == org.secrets["ADO_PAT"]
        assert org.stored("web", "gitlab")["access_token"] == org.secrets["GITLAB_TOKEN"]
    assert org.stored("web", "gitlab")["gitlab_instance_url"] == "https://gitlab.example"


def test_a_rejected_pat_fails_that_change_alone_with_the_servers_reason(org: Org) -> None:
    org.ctl(
        "POST", "ado/", {"organisation_url": "https://dev.azure.com/acme", "pats": ["good-pat"]}
    )
    result = org.run("apply", str(org.spec), "--auto-approve")
    assert result.exit_code == 1
    assert "Azure DevOps rejected the credentials" in result.output
    assert org.secrets["ADO_PAT"] not in result.output
    failed = {
        line.split(" (")[0] for line in result.output.splitlines() if line.startswith("failed")
    }
    assert failed == {f"failed {WEB_ADO}"}, failed
    kinds = {r["kind"] for r in org.table("integrations")}
    assert kinds == {"gitlab", "datadog"}
    org.setenv("ADO_PAT", "good-pat")
    org.converge()
    # an update that does not carry the PAT is not checked again (the server keeps its PAT)
    probes = org.ctl("GET", "ado/")["probes"]
    org.edit("flagsmith.yaml", "tagging_enabled: false", "tagging_enabled: true")
    org.converge()
    assert org.ctl("GET", "ado/")["probes"] == probes


def test_deleted_integration_comes_back_as_the_same_row(org: Org) -> None:
    org.converge()
    before = org.stored("web", "gitlab")["id"]
    text = (org.spec / "flagsmith.yaml").read_text()
    start = text.index("        gitlab:")
    end = text.index("        datadog:")
    (org.spec / "flagsmith.yaml").write_text(text[:start] + text[end:])
    org.converge()
    assert org.stored("web", "gitlab")["deleted_at"] is not None
    (org.spec / "flagsmith.yaml").write_text(text)
    org.converge()
    revived = org.stored("web", "gitlab")
    assert revived["id"] == before and revived["deleted_at"] is None
    assert revived["access_token"] == org.secrets["GITLAB_TOKEN"]


def test_deleting_a_project_counts_what_goes_with_it(org: Org) -> None:
    org.converge()
    text = (org.spec / "flagsmith.yaml").read_text()
    start = text.index("    api:")
    end = text.index("  github:")
    reduced = text[:start] + text[end:]
    # three deletes allowed: the project alone would pass, with its environments it does not
    reduced = reduced.replace("version: 1\n", "version: 1\nsafety: {max_deletes: 3}\n")
    (org.spec / "flagsmith.yaml").write_text(reduced)
    planned = org.run("plan", str(org.spec), "--format", "json")
    assert planned.exit_code == 1  # refused: over the delete limit
    plan = json.loads(planned.stdout)
    assert [v["rule"] for v in plan["violations"]] == ["max_deletes"]
    deletes = sorted(c["address"] for c in plan["changes"] if c["action"] == "delete")
    assert deletes == [
        "flagsmith.environment.api/Development",
        "flagsmith.environment.api/Production",
        "flagsmith.environment.api/Staging",
        "flagsmith.project.api",
    ]
    project = next(c for c in plan["changes"] if c["address"] == "flagsmith.project.api")
    assert len(project["cascade"]["objects"]) == 3
    org.converge("--allow-deletes")
    assert "api" not in {p["name"] for p in org.table("projects")}
