"""Life of an organisation against the sandbox: renames in place, owning teams, token
re-minting, duplicate names and id pins, E2EE grants made in the console, members who have
not set up their keys, and what a service-account token is refused."""

from __future__ import annotations

import json

from phase_org import Org, ids

from reconciler.address import Address
from reconciler.state.open import open_store

TOKEN = Address("phase", "sa_token", "ci-deployer/deploy")


def live_token(org: Org, key: str = "CI_DEPLOYER_TOKEN") -> tuple[list[str], str | None]:
    """(ids of ci-deployer's tokens, the token stored under ``key`` in legacy-api/Production)."""
    with org.phase.owner() as owner:
        sas = ids(owner, "/v1/service-accounts/")
        tokens = owner.get(f"/v1/service-accounts/{sas['ci-deployer']}/").json()["tokens"]
        apps = ids(owner, "/v1/apps/")
        secrets = owner.get(
            "/v1/secrets/", params={"app_id": apps["legacy-api"], "env": "Production"}
        ).json()
    stored = next((s["value"] for s in secrets if s["key"] == key), None)
    return [t["id"] for t in tokens], stored


def works(org: Org, token: str | None) -> bool:
    assert token is not None
    with org.phase.client(token) as robot:
        return bool(robot.get("/v1/apps/").status_code == 200)


def test_an_environment_renamed_in_place_keeps_its_id_and_grants(org: Org) -> None:
    org.converge()
    with org.phase.owner() as owner:
        apps = ids(owner, "/v1/apps/")
        before = ids(owner, f"/v1/environments/?app_id={apps['checkout']}")
    org.edit("phase.yaml", "        - qa\n", "        - name: test\n          previous_name: qa\n")
    org.edit("people.yaml", "checkout: [dev, qa]", "checkout: [dev, test]")
    plan = org.run("plan", str(org.spec))
    assert '~ phase.environment.checkout/test\n      name: "qa" -> "test"' in plan.stdout
    assert "+ phase.environment" not in plan.stdout and "- phase.environment" not in plan.stdout
    org.converge()
    with org.phase.owner() as owner:
        after = ids(owner, f"/v1/environments/?app_id={apps['checkout']}")
    assert after["test"] == before["qa"] and "qa" not in after


def test_a_service_account_owned_by_a_team(org: Org) -> None:
    org.edit(
        "people.yaml",
        "    metrics-reader:\n",
        "    release-bot:\n      team: backend\n    metrics-reader:\n",
    )
    org.converge()
    with org.phase.owner() as owner:
        teams = ids(owner, "/v1/teams/")
        detail = owner.get(f"/v1/teams/{teams['backend']}/").json()
    names = {m.get("name") for m in detail["members"] if m["type"] == "service_account"}
    assert names == {"ci-deployer", "release-bot"}
    # a later run, with a new state file, still sees the account as the team's
    org.monkeypatch.setenv("RECONCILER_STATE", str(org.tmp / "other-state.db"))
    again = org.run("plan", str(org.spec), "--detailed-exitcode")
    assert again.exit_code == 0, again.output


def test_changing_a_token_store_mints_stores_and_retires(org: Org) -> None:
    org.converge()
    old_ids, old = live_token(org)
    org.edit("people.yaml", "key: CI_DEPLOYER_TOKEN", "key: CI_DEPLOY_TOKEN")
    plan = org.run("plan", str(org.spec))
    assert "~ phase.sa_token.ci-deployer/deploy" in plan.stdout
    assert "a new token is minted and stored, then the old one is deleted" in plan.stdout
    org.converge()
    new_ids, new = live_token(org, "CI_DEPLOY_TOKEN")
    assert len(new_ids) == 1 and new_ids != old_ids
    assert works(org, new) and not works(org, old)
    for text in (plan.stdout, (org.tmp / "state.db").read_bytes().decode("latin-1")):
        assert str(new) not in text and str(old) not in text


def test_a_token_minted_by_an_interrupted_run_is_minted_again(org: Org) -> None:
    org.converge()
    old_ids, _stored = live_token(org)
    store = open_store(org.spec)
    try:  # as if the run had stopped between minting and storing
        store.set_record(TOKEN, "stored", None)
        store.set_record(TOKEN, "minting", True)
    finally:
        store.close()
    plan = org.run("plan", str(org.spec), "--detailed-exitcode")
    assert plan.exit_code == 2 and "~ phase.sa_token.ci-deployer/deploy" in plan.stdout
    org.converge()
    new_ids, stored = live_token(org)
    assert len(new_ids) == 1 and new_ids != old_ids and works(org, stored)


def test_two_live_apps_of_one_name_need_an_id_pin(org: Org) -> None:
    org.converge()
    with org.phase.owner() as owner:
        original = ids(owner, "/v1/apps/")["payments"]
        twin = owner.post("/v1/apps/", json={"name": "payments"}).json()["id"]
    refused = org.run("plan", str(org.spec))
    assert refused.exit_code == 1
    assert "2 live apps are named 'payments'" in refused.stderr
    assert "add id: <one of them>" in refused.stderr and twin in refused.stderr
    org.edit("phase.yaml", "    payments:\n", f"    payments:\n      id: {original}\n")
    plan = org.run("plan", str(org.spec))
    assert f"- phase.app.payments#{twin[:8]}" in plan.stdout  # apps are pruned
    org.converge()


def test_e2ee_access_granted_in_the_console_is_kept_and_guarded_without_login(org: Org) -> None:
    org.without_console()
    org.converge()
    org.phase.control(
        "POST",
        "changes/",
        {"changes": [{"op": "grant_member", "member": "dev@acme.test", "app": "vault",
                      "environments": ["Development"]}]},
    )  # fmt: skip
    # not managed, so not drift: the spec never sends dev an access update by itself
    assert org.run("plan", str(org.spec), "--detailed-exitcode").exit_code == 0
    org.edit(
        "people.yaml",
        "        legacy-api: [Development]\n",
        "        legacy-api: [Development]\n        payments: [Staging]\n",
    )
    refused = org.run("plan", str(org.spec))
    assert refused.exit_code == 1
    assert "[e2ee] phase.member.dev@acme.test" in refused.stderr
    assert "end-to-end encrypted app 'vault'" in refused.stderr


def test_a_member_without_keys_is_deferred_with_the_console_login(org: Org) -> None:
    org.without_console()
    org.phase.control(
        "POST", "seed/", {"members": [{"email": "nokey@acme.test", "identity": False}]}
    )
    org.edit(
        "people.yaml",
        "  members:\n",
        "  members:\n    nokey@acme.test:\n      role: Developer\n"
        "      access:\n        legacy-api: [Development]\n",
    )
    # without the console login, apply finds out and reports the member pending
    applied = org.run("apply", str(org.spec), "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert "phase.member.nokey@acme.test" in applied.output and "pending" in applied.output
    plan = org.run("plan", str(org.spec))
    assert "the last apply found this member without keys" in plan.stdout
    # with it, the plan knows and defers
    org.edit(
        "phase.yaml",
        "    token: ${env:PHASE_TOKEN}\n",
        "    token: ${env:PHASE_TOKEN}\n    email: ${env:PHASE_EMAIL}\n"
        "    password: ${env:PHASE_PASSWORD}\n",
    )
    plan = org.run("plan", str(org.spec), "--detailed-exitcode", "--format", "json")
    assert plan.exit_code == 0, plan.output  # nothing executable: only deferred changes
    changes = {c["address"]: c for c in json.loads(plan.stdout)["changes"]}
    deferred = changes["phase.member.nokey@acme.test"]
    assert deferred["action"] == "deferred" and "set up their keys" in deferred["reason"]


def test_a_service_account_token_is_told_what_it_cannot_do(org: Org) -> None:
    org.without_console()  # a console login is a user's: E2EE needs a PAT
    org.converge()
    seeded = org.phase.control(
        "POST",
        "seed/",
        {"service_accounts": [{"name": "robot", "role": "Manager",
                               "access": {"legacy-api": ["Development"]}}]},
    )  # fmt: skip
    org.monkeypatch.setenv("PHASE_TOKEN", seeded["service_accounts"]["robot"]["token"])
    org.edit(
        "people.yaml",
        "    dana@acme.test:\n      role: Developer",
        "    dana@acme.test:\n      role: Admin",
    )
    org.edit(
        "people.yaml",
        "      access:\n        payments: [Development, Staging]\n        checkout: [dev, qa]\n",
        "",
    )
    org.edit("people.yaml", "key: CI_DEPLOYER_TOKEN", "key: CI_DEPLOY_TOKEN")
    plan = org.run("plan", str(org.spec))
    assert plan.exit_code == 1
    err = plan.stderr
    assert "[sa_caller] phase.member.dana@acme.test" in err  # a global-access role
    assert "[sa_caller] phase.sa_token.ci-deployer/deploy" in err  # another account's token
    assert "[self] phase.service_account.robot" in err  # undeclared, so pruned: itself
    assert "use an Owner or Admin PAT" in err
    # it sees only what it holds: creating what it cannot see is flagged, not guessed
    assert "a service-account token sees only the apps and environments it holds" in plan.stdout


def test_a_service_account_pinned_by_id_is_renamed_not_recreated(org: Org) -> None:
    org.converge()
    with org.phase.owner() as owner:
        sa = ids(owner, "/v1/service-accounts/")["metrics-reader"]
    org.edit("people.yaml", "    metrics-reader:\n", f"    metrics:\n      id: {sa}\n")
    plan = org.run("plan", str(org.spec))
    assert '~ phase.service_account.metrics\n      name: "metrics-reader" -> "metrics"' in (
        plan.stdout
    )
    org.converge()
    with org.phase.owner() as owner:
        assert ids(owner, "/v1/service-accounts/")["metrics"] == sa
