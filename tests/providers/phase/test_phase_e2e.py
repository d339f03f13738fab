"""The Phase provider end to end against the sandbox, through the CLI: converge the example
organisation, see out-of-band changes graded in drift, restore them, complete deferred invites,
export and re-plan, refuse a stale saved plan, survive injected faults."""

from __future__ import annotations

from phase_org import Org, ids, stored_tokens


def test_fresh_plan_apply_converges_and_stores_the_token(org: Org) -> None:
    first = org.run("plan", str(org.spec), "--detailed-exitcode", "--stats")
    assert first.exit_code == 2, first.output
    assert "+ phase.app.payments" in first.stdout and "(deferred)" in first.stdout
    org.converge()
    token = stored_tokens(org)[0]
    assert token.startswith("pss_service:v2:")
    # the token is a working credential and never appears in plans or state
    assert token not in first.stdout
    assert token.encode() not in (org.tmp / "state.db").read_bytes()


def test_out_of_band_changes_are_graded_and_restored(org: Org) -> None:
    org.converge()
    with org.phase.owner() as owner:
        apps = ids(owner, "/v1/apps/")
        owner.put(f"/v1/apps/{apps['payments']}/", json={"name": "payments-renamed"})
        envs = ids(owner, f"/v1/environments/?app_id={apps['checkout']}")
        owner.delete(f"/v1/environments/{envs['qa']}/")
        members = ids(owner, "/v1/members/")
        roles = ids(owner, "/v1/roles/")
        owner.put(f"/v1/members/{members['dev@acme.test']}/", json={"role_id": roles["Manager"]})
        body = {"apps": [{"id": apps["legacy-api"], "environments": list(
            ids(owner, f"/v1/environments/?app_id={apps['legacy-api']}").values()
        )}]}  # fmt: skip
        owner.put(f"/v1/members/{members['dev@acme.test']}/access/", json=body)
    found = org.drift()
    assert found["phase.app.payments"] == ("missing", "create")
    assert found["phase.app.payments-renamed"] == ("unmanaged", "delete")
    assert found["phase.environment.checkout/qa"] == ("missing", "create")
    assert found["phase.member.dev@acme.test"] == ("changed", "update")
    assert found["phase.member.dana@acme.test"] == ("changed", "update")  # lost checkout/qa
    assert org.run("drift", str(org.spec)).exit_code == 2
    # a rename is declared with previous_name so the app is renamed back, not recreated
    spec = org.spec / "phase.yaml"
    spec.write_text(
        spec.read_text().replace(
            "    payments:\n", "    payments:\n      previous_name: payments-renamed\n"
        )
    )
    plan = org.run("plan", str(org.spec))
    assert '~ phase.app.payments\n      name: "payments-renamed" -> "payments"' in plan.stdout
    org.converge()
    assert org.run("drift", str(org.spec)).exit_code == 0


def test_invite_is_deferred_until_accepted_then_completed(org: Org) -> None:
    org.converge()
    plan = org.run("plan", str(org.spec))
    assert "… phase.member.new.hire@acme.test (deferred)" in plan.stdout
    org.phase.control("POST", "invites/by-email/new.hire@acme.test/accept/")
    pending = org.run("plan", str(org.spec), "--detailed-exitcode")
    assert pending.exit_code == 2 and "~ phase.member.new.hire@acme.test" in pending.stdout
    org.converge()


def test_export_then_plan_of_the_export_is_empty(org: Org) -> None:
    org.converge()
    out = org.tmp / "exported" / "phase.yaml"
    assert org.run("export", "--provider", "phase", str(out)).exit_code == 0
    text = out.read_text()
    assert "${env:PHASE_TOKEN}" in text and "pss_user" not in text
    assert org.run("plan", str(out.parent), "--detailed-exitcode").exit_code == 0


def test_saved_plan_is_refused_when_stale_and_applied_when_not(org: Org) -> None:
    saved = org.tmp / "p.json"
    assert org.run("plan", str(org.spec), "--out", str(saved)).exit_code == 0
    with org.phase.owner() as owner:
        members = ids(owner, "/v1/members/")
        roles = ids(owner, "/v1/roles/")
        owner.put(f"/v1/members/{members['dana@acme.test']}/", json={"role_id": roles["Manager"]})
    refused = org.run("apply", "--plan", str(saved))
    assert refused.exit_code == 1 and "stale" in refused.stderr
    assert "phase.member.dana@acme.test" in refused.stderr
    assert org.run("plan", str(org.spec), "--out", str(saved)).exit_code == 0
    applied = org.run("apply", "--plan", str(saved))
    assert applied.exit_code == 0, applied.output


def test_e2ee_hazard_is_refused_without_the_console_login(org: Org) -> None:
    org.without_console()
    org.converge()
    spec = org.spec / "people.yaml"
    spec.write_text(
        spec.read_text().replace("legacy-api: [Development]\n", "vault: [Development]\n", 1)
    )
    plan = org.run("plan", str(org.spec))
    assert plan.exit_code == 1
    assert "[e2ee] phase.member.dev@acme.test" in plan.stderr and "'vault'" in plan.stderr


def test_owner_is_never_changed(org: Org) -> None:
    org.edit(
        "people.yaml",
        "    owner@acme.test:\n      role: Owner\n",
        "    owner@acme.test:\n      role: Admin\n",
    )
    plan = org.run("plan", str(org.spec))
    assert plan.exit_code == 1 and "[owner] phase.member.owner@acme.test" in plan.stderr


def test_faults_5xx_and_429_storms_converge_without_duplicates(org: Org) -> None:
    org.phase.control("POST", "faults/", {"errors": 3, "throttle": 4, "retry_after": 1})
    result = org.run("apply", str(org.spec), "--auto-approve")
    # a failed POST (5xx) stops its dependents cleanly; a re-run completes the work
    if result.exit_code != 0:
        assert "failed" in result.stdout and "Traceback" not in result.output
    org.converge()
    with org.phase.owner() as owner:
        names = [a["name"] for a in owner.get("/v1/apps/").json()["data"]]
        sas = [s["name"] for s in owner.get("/v1/service-accounts/").json()["data"]]
    assert sorted(names) == sorted(set(names)) and sorted(sas) == sorted(set(sas))


def test_plan_stats_count_requests_by_route(org: Org) -> None:
    result = org.run("plan", str(org.spec), "--stats")
    lines = result.stderr.splitlines()
    total = next(x for x in lines if x.startswith("requests phase: "))
    assert "throttled 0" in total
    routes = {
        x.strip().rsplit(": ", 1)[0]: int(x.rsplit(": ", 1)[1]) for x in lines if x[:2] == "  "
    }
    assert routes["GET /v1/apps/"] == 1 and routes["GET /secrets/tokens/"] >= 1
    assert routes["GET /v1/members/{id}/access/"] > 1  # ids templated: one line for all members
    assert routes["POST /graphql/ GetOrganisationMembers"] == 1  # console operations by name
    assert sum(routes.values()) == int(total.split(": ", 1)[1].split(" ", 1)[0])
