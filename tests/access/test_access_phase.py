"""The access report of the Phase example organisation against the sandbox, checked against a
hand-written expectation: one test per access path (global role, direct grant, team, E2EE key
vs SSE), the spec's intent, key custody with revocation debt, tokens, pending principals, and
its cost (no more requests than a plan)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import jsonschema
from access_org import ROOT, AccessOrg, cells

from reconciler import engine
from reconciler.cli.access_cmd import report_of

SSE, E2EE = "SSE: server decrypts", "E2EE key held"
M, SA, ENV = "phase.member.", "phase.service_account.", "phase.environment."


def cell(report: dict[str, Any], principal: str, resource: str) -> tuple[Any, list[str]]:
    found = cells(report).get((principal, ENV + resource))
    return (found["right"], found["paths"]) if found else (None, [])


def test_global_role_reaches_every_environment(phase_org: AccessOrg) -> None:
    phase_org.converge()
    report = phase_org.report()
    envs = [r for r in report["resources"] if r.startswith(ENV)]
    assert len(envs) == 12
    for who, role in (("admin@acme.test", "Admin"), ("owner@acme.test", "Owner")):
        for env in envs:
            key = E2EE if env.startswith(ENV + "vault/") else SSE
            got = cells(report)[(M + who, env)]
            assert (got["right"], got["paths"]) == ("admin", [f"role {role} (global); {key}"])
            assert not got["differs"]


def test_direct_grants_carry_the_role_right(phase_org: AccessOrg) -> None:
    phase_org.converge()
    report = phase_org.report()
    # Developer (default role): changes secrets
    assert cell(report, M + "dana@acme.test", "checkout/qa") == ("write", [f"direct; {SSE}"])
    assert cell(report, M + "dana@acme.test", "payments/Staging") == ("write", [f"direct; {SSE}"])
    # Auditor (custom role, Secrets: read only)
    assert cell(report, SA + "metrics-reader", "payments/Production") == (
        "read",
        [f"direct; {SSE}"],
    )
    # not granted anywhere
    assert cell(report, M + "dana@acme.test", "payments/Production") == (None, [])
    assert cell(report, SA + "metrics-reader", "payments/Staging") == (None, [])


def test_team_grants_reach_members_and_service_accounts(phase_org: AccessOrg) -> None:
    phase_org.converge()
    report = phase_org.report()
    assert cell(report, M + "dana@acme.test", "checkout/dev") == (
        "write",
        [f"team frontend; {SSE}"],
    )
    assert cell(report, M + "dev@acme.test", "legacy-api/Staging") == (
        "write",
        [f"team backend; {SSE}"],
    )
    # ci-deployer reaches payments/Development only through backend, at its service-account
    # role (Deployer: Secrets read+update -> write), not its own role
    assert cell(report, SA + "ci-deployer", "payments/Development") == (
        "write",
        [f"team backend; {SSE}"],
    )
    # the team's own row: its scope
    assert cell(report, "phase.team.backend", "legacy-api/Development")[1] == [f"team scope; {SSE}"]
    assert cell(report, "phase.team.frontend", "checkout/prod")[1] == [f"team scope; {SSE}"]
    assert cell(report, "phase.team.frontend", "checkout/qa") == (None, [])


def test_e2ee_environments_are_reached_by_a_held_key(phase_org: AccessOrg) -> None:
    phase_org.converge()
    report = phase_org.report()
    assert cell(report, M + "dana@acme.test", "vault/Audit") == ("write", [f"direct; {E2EE}"])
    assert cell(report, SA + "ci-deployer", "vault/Production") == ("write", [f"direct; {E2EE}"])
    assert cell(report, M + "dana@acme.test", "vault/Production") == (None, [])


def test_cells_that_differ_from_the_spec_are_marked(phase_org: AccessOrg) -> None:
    phase_org.converge()
    with phase_org_owner(phase_org) as owner:
        apps = ids(owner, "/v1/apps/")
        envs = ids(owner, f"/v1/environments/?app_id={apps['payments']}")
        dev = ids(owner, "/v1/members/")["dev@acme.test"]
        body = {"apps": [{"id": apps["payments"], "environments": [envs["Production"]]}]}
        assert owner.put(f"/v1/members/{dev}/access/", json=body).status_code < 300
    found = cells(phase_org.report())
    oob = found[(M + "dev@acme.test", ENV + "payments/Production")]
    assert (oob["right"], oob["intended"], oob["differs"]) == ("write", None, True)
    # declared, not live yet: the invite is not accepted
    hire = found[(M + "new.hire@acme.test", ENV + "payments/Development")]
    assert (hire["right"], hire["intended"], hire["differs"]) == (None, "write", True)
    assert hire["intended_paths"] == [f"direct; {SSE}"]
    # everything else matches the spec
    assert {k for k, c in found.items() if c["differs"]} == {
        (M + "dev@acme.test", ENV + "payments/Production"),
        (M + "new.hire@acme.test", ENV + "payments/Development"),
    }
    text = phase_org.run("access", str(phase_org.spec), "--principal", "dev@").stdout
    assert "payments/Production" in text and "!  spec: none" in text
    assert "\nphase.member.dana@acme.test\n" not in text  # no row of hers


def test_key_custody_and_revocation_debt(phase_org: AccessOrg) -> None:
    phase_org.converge()
    custody = {k["resource"]: k for k in phase_org.report()["key_custody"]}
    assert set(custody) == {
        ENV + "vault/Audit",
        ENV + "vault/Development",
        ENV + "vault/Production",
    }
    assert custody[ENV + "vault/Development"]["holders"] == [
        M + "admin@acme.test",
        M + "dana@acme.test",
        M + "owner@acme.test",
    ]
    assert custody[ENV + "vault/Production"]["holders"] == [
        M + "admin@acme.test",
        M + "owner@acme.test",
        SA + "ci-deployer",
    ]
    assert all(not k["revocation_debt"] and not k["single_holder"] for k in custody.values())
    # revoke dana's key on vault/Development through the spec
    phase_org.edit("people.yaml", "vault: [Development, Audit]", "vault: [Audit]")
    phase_org.converge()
    custody = {k["resource"]: k for k in phase_org.report()["key_custody"]}
    dev = custody[ENV + "vault/Development"]
    assert M + "dana@acme.test" not in dev["holders"]
    [debt] = dev["revocation_debt"]
    assert debt["principal"] == M + "dana@acme.test"
    assert debt["revoked_at"][:10] == datetime.now(UTC).date().isoformat()
    assert not custody[ENV + "vault/Audit"]["revocation_debt"]
    text = phase_org.run("access", str(phase_org.spec)).stdout
    assert "revocation debt: phase.member.dana@acme.test lost access" in text
    # granted again: she holds the key again, no debt
    phase_org.edit("people.yaml", "vault: [Audit]", "vault: [Development, Audit]")
    phase_org.converge()
    custody = {k["resource"]: k for k in phase_org.report()["key_custody"]}
    assert not custody[ENV + "vault/Development"]["revocation_debt"]


def test_tokens_age_expiry_and_rotation(phase_org: AccessOrg) -> None:
    phase_org.converge()
    now = datetime.now(UTC)
    with engine.Session(phase_org.spec) as session:
        [token] = report_of(session, now).tokens
        [later] = report_of(session, now + timedelta(days=91)).tokens
    assert token["address"] == "phase.sa_token.ci-deployer/deploy"
    assert token["owner"] == SA + "ci-deployer"
    assert (token["age_days"], token["rotate_after_days"], token["rotation_due"]) == (0, 90, False)
    assert str(token["expires_at"])[:4] == str(now.year + 1)
    assert (later["age_days"], later["rotation_due"], later["expired"]) == (91, True, False)


def test_pending_principals_are_listed(phase_org: AccessOrg) -> None:
    phase_org.converge()
    report = phase_org.report()
    jsonschema.validate(report, json.loads((ROOT / "specs" / "access.schema.json").read_text()))
    assert report["notes"] == []  # with the console login nothing is out of sight
    pending = report["credentials"]["pending_principals"]
    assert {p["address"] for p in pending} == {M + "auditor@acme.test", M + "new.hire@acme.test"}
    assert all("not accepted" in p["pending"] for p in pending)


def test_the_report_costs_no_more_requests_than_a_plan(phase_org: AccessOrg) -> None:
    phase_org.converge()
    with engine.Session(phase_org.spec) as session:
        planned = session.make_plan()
    plan_requests = planned.stats["requests"]
    with engine.Session(phase_org.spec) as session:
        report_of(session, datetime.now(UTC))
        access_requests = {n: p.stats()["requests"] for n, p in session.providers.items()}
    assert access_requests == plan_requests, (access_requests, plan_requests)


# -- helpers ----------------------------------------------------------------------------------


def phase_org_owner(org: AccessOrg) -> Any:
    import httpx

    token = org.credentials["PHASE_TOKEN"]
    auth = f"Bearer User {token.split(':')[2]}"
    return httpx.Client(base_url=org.credentials["PHASE_URL"], headers={"Authorization": auth})


def ids(client: Any, path: str) -> dict[str, str]:
    data = client.get(path).json()["data"]
    return {(d.get("name") or d.get("email")): d["id"] for d in data}


def test_without_the_console_login_the_report_says_what_it_cannot_see(
    phase_org: AccessOrg,
) -> None:
    for file, old in (
        ("phase.yaml", "    email: ${env:PHASE_EMAIL}\n"),
        ("phase.yaml", "    password: ${env:PHASE_PASSWORD}\n"),
        ("phase.yaml", "        - Audit\n"),
        ("people.yaml", "        vault: [Production]\n"),
        ("people.yaml", "        vault: [Development, Audit]\n"),
    ):
        phase_org.edit(file, old, "")
    phase_org.converge()
    report = phase_org.report()
    [note] = report["notes"]
    assert "end-to-end encrypted apps vault" in note and "console login" in note
    assert (
        "note: Phase: grants on the end-to-end"
        in phase_org.run("access", str(phase_org.spec)).stdout
    )
