"""The access report of the Flagsmith example against the sandbox, against a hand-written
expectation: organisation admins, a user's own project permission, a group's permissions reaching
its members (project and environment), and integration secrets known only by fingerprint with
when and by which plan they were last set."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from access_org import AccessOrg, cells

P, E, MEM = "flagsmith.project.", "flagsmith.environment.", "flagsmith.member."


def accepted(org: AccessOrg, flagsmith_root: str) -> None:
    """Apply, accept both invites (as the people would), apply again: the deferred grants land."""
    org.run("apply", str(org.spec), "--auto-approve")
    for email in ("alice@acme.io", "bob@acme.io"):
        httpx.post(
            f"{flagsmith_root}/_sandbox/invites/accept/", json={"email": email}
        ).raise_for_status()
    org.converge()


def test_paths_on_projects_and_environments(
    flagsmith_org: AccessOrg, flagsmith_sandbox: object
) -> None:
    accepted(flagsmith_org, flagsmith_sandbox.root)  # type: ignore[attr-defined]
    found = cells(flagsmith_org.report())

    def at(who: str, res: str) -> tuple[str, list[str]]:
        c = found[(who, res)]
        return c["right"], c["paths"]

    # organisation admins reach every project and environment
    for res in (P + "api", P + "web", E + "api/Staging", E + "web/Production"):
        assert at(MEM + "owner@acme.io", res) == ("admin", ["role ADMIN (organisation)"])
    # alice is an organisation admin and has a direct project-admin permission on web
    assert at(MEM + "alice@acme.io", P + "web") == (
        "admin",
        ["direct", "role ADMIN (organisation)"],
    )
    # bob (USER) reaches web only through group backend: CREATE_FEATURE -> write on the project,
    # VIEW_ENVIRONMENT -> read on Production, nothing on api
    assert at(MEM + "bob@acme.io", P + "web") == ("write", ["group backend"])
    assert at(MEM + "bob@acme.io", E + "web/Production") == ("read", ["group backend"])
    assert (MEM + "bob@acme.io", E + "web/Development") not in found
    assert (MEM + "bob@acme.io", P + "api") not in found
    assert at("flagsmith.group.backend", P + "web") == ("write", ["group backend"])
    assert not any(c["differs"] for c in found.values())


def test_integration_secrets_are_known_by_fingerprint_with_their_date(
    flagsmith_org: AccessOrg,
) -> None:
    flagsmith_org.converge()
    report = flagsmith_org.report()
    secrets = {(s["address"], s["attribute"]): s for s in report["credentials"]["secrets"]}
    assert set(secrets) == {
        ("flagsmith.integration.web/azure_devops", "personal_access_token"),
        ("flagsmith.integration.web/datadog", "api_key"),
        ("flagsmith.integration.web/gitlab", "access_token"),
    }
    today = datetime.now(UTC).date().isoformat()
    for s in secrets.values():
        assert s["fingerprint_known"] is True
        assert str(s["set_at"]).startswith(today) and len(str(s["set_by_plan"])) == 12
    text = flagsmith_org.run("access", str(flagsmith_org.spec), "--format", "markdown").stdout
    assert "personal_access_token: fingerprint only, last set" in text
    # pending invites are listed until accepted
    pending = {p["address"] for p in report["credentials"]["pending_principals"]}
    assert pending == {MEM + "alice@acme.io", MEM + "bob@acme.io"}
    # the secrets themselves never appear
    for fmt in ("text", "json", "markdown", "html"):
        out = flagsmith_org.run("access", str(flagsmith_org.spec), "--format", fmt).stdout
        assert "ado-pat-acc-0001" not in out and "glpat-acc-1" not in out
