"""End-to-end encrypted access against the sandbox: the example organisation grants E2EE
environments (keys re-wrapped on this machine), a grantee opens them with its own key, access is
revoked and changed without a REST access update, a new E2EE environment is created, SSE is
enabled, and apply refuses a recipient whose identity key changed since the plan."""

from __future__ import annotations

import json
from typing import Any

from phase_org import Org, stored_tokens

from reconciler.apply.result import ApplyResult, Status
from reconciler.crypto.keyring import EnvSecrets, Keyring
from reconciler.crypto.tokens import parse_token
from reconciler.engine import Session


def keys_of(org: Org, token: str) -> dict[str, Any]:
    """``GET /secrets/tokens/`` as the token's principal: its key share and key rows."""
    with org.phase.client(token) as client:
        answer: dict[str, Any] = client.get("/secrets/tokens/").json()
    return answer


def open_env(org: Org, token: str, app: str, env: str) -> tuple[str, EnvSecrets] | None:
    """``(env id, seed and salt)`` opened with the principal's own private key, recovered from
    its token; ``None`` when it holds no key for the environment."""
    answer = keys_of(org, token)
    keyring = Keyring.recover(parse_token(token), answer["wrapped_key_share"])
    for entry in answer["apps"]:
        for row in entry["environment_keys"] if entry["name"] == app else ():
            if row["environment"]["name"] == env:
                opened = keyring.unwrap_env(
                    row["wrapped_seed"], row["wrapped_salt"], row["identity_key"]
                )
                return str(row["environment"]["id"]), opened
    return None


def counters(org: Org) -> dict[str, int]:
    return {k: int(v) for k, v in org.phase.control("GET", "counters/").items()}


def test_a_grantee_decrypts_with_its_own_key_and_loses_the_key_on_revocation(org: Org) -> None:
    plan = org.run("plan", str(org.spec))
    assert plan.exit_code == 0, plan.output
    # the plan names what is wrapped, for which key, from whose key
    assert 'e2ee_wrap: ["vault/Audit", "vault/Development"]' in plan.stdout
    assert 'e2ee_recipient_key: "sha256:' in plan.stdout
    assert 'e2ee_key_holder: "owner@acme.test (sha256:' in plan.stdout
    org.converge()

    dana = org.phase.pat("dana@acme.test")
    opened = open_env(org, dana, "vault", "Development")
    assert opened is not None
    env_id, secrets = opened
    stored = org.phase.control("GET", f"secrets/{env_id}/")
    assert [secrets.decrypt(s["value"]) for s in stored] == ["vault-root-secret"]
    assert open_env(org, dana, "vault", "Audit") is not None  # created by this apply
    assert open_env(org, dana, "vault", "Production") is None

    # the service account created by the same apply opens its E2EE environment with the token
    # the apply stored for it (an SSE secret)
    assert open_env(org, stored_tokens(org)[0], "vault", "Production") is not None

    org.edit("people.yaml", "        vault: [Development, Audit]\n", "        vault: [Audit]\n")
    revoke = org.run("plan", str(org.spec))
    assert "revokes end-to-end encrypted access to vault/Development" in revoke.stdout
    assert "revocation is not rotation" in revoke.stdout
    org.phase.control("DELETE", "counters/")
    org.converge()
    assert open_env(org, dana, "vault", "Development") is None  # the key row is gone
    assert open_env(org, dana, "vault", "Audit") is not None
    # dana holds an E2EE app: her access moved app by app, never by a REST access update
    assert not any("access" in route and route.startswith("PUT") for route in counters(org))


def test_an_sse_change_for_a_holder_of_e2ee_access_keeps_the_e2ee_keys(org: Org) -> None:
    org.converge()
    org.edit(
        "people.yaml",
        "        checkout: [dev, qa]\n        vault:",
        "        checkout: [dev]\n        vault:",
    )
    plan = org.run("plan", str(org.spec))
    assert "update checkout: dev" in plan.stdout  # console steps, shown in the plan
    org.phase.control("DELETE", "counters/")
    org.converge()
    routes = counters(org)
    assert not any(r.startswith("PUT /v1/members/") for r in routes), routes
    assert any("graphql" in r for r in routes), routes  # the console steps
    dana = org.phase.pat("dana@acme.test")
    assert open_env(org, dana, "vault", "Development") is not None
    assert open_env(org, dana, "checkout", "qa") is None
    assert open_env(org, dana, "checkout", "dev") is not None


def test_removing_the_whole_grant_and_revoking_a_service_account(org: Org) -> None:
    org.converge()
    org.edit("people.yaml", "        vault: [Development, Audit]\n", "")
    org.edit("people.yaml", "        vault: [Production]\n", "")
    plan = org.run("plan", str(org.spec), "--format", "json")
    changes = {c["address"]: c for c in json.loads(plan.stdout)["changes"]}
    sa = changes["phase.service_account.ci-deployer"]
    assert any("revokes end-to-end encrypted access to vault/Production" in w
               for w in sa["warnings"])  # fmt: skip
    assert "remove vault" in sa["details"]["e2ee_console_steps"]
    org.converge()
    assert open_env(org, org.phase.pat("dana@acme.test"), "vault", "Development") is None
    with org.phase.owner() as owner:
        members = owner.get("/v1/members/").json()["data"]
        dana = next(m["id"] for m in members if m["email"] == "dana@acme.test")
        view = owner.get(f"/v1/members/{dana}/access/").json()
    assert "vault" not in {a["name"] for a in view["apps"]}


def test_apply_refuses_a_recipient_whose_identity_key_changed_since_the_plan(org: Org) -> None:
    org.without_console()
    org.converge()
    org.edit(
        "phase.yaml",
        "    token: ${env:PHASE_TOKEN}\n",
        "    token: ${env:PHASE_TOKEN}\n    email: ${env:PHASE_EMAIL}\n"
        "    password: ${env:PHASE_PASSWORD}\n",
    )
    org.edit("people.yaml", "        legacy-api: [Development]\n",
             "        legacy-api: [Development]\n        vault: [Production]\n")  # fmt: skip
    saved = org.tmp / "plan.json"
    assert org.run("plan", str(org.spec), "--out", str(saved)).exit_code == 0
    org.phase.control(
        "POST", "changes/", {"changes": [{"op": "replace_identity_key", "member": "dev@acme.test"}]}
    )
    stale = org.run("apply", "--plan", str(saved))
    assert stale.exit_code == 1
    assert "phase.member.dev@acme.test" in stale.output and "changed" in stale.output
    # a fresh plan shows the new key; apply wraps for it, and dev opens it with the new key
    org.converge()
    assert open_env(org, org.phase.pat("dev@acme.test"), "vault", "Production") is not None


def test_enabling_server_side_encryption(org: Org) -> None:
    org.converge()
    org.edit("phase.yaml", "      sse: false\n", "      sse: true\n")
    org.edit("phase.yaml", "        - Audit\n", "        - Audit\n        - Qa\n")
    plan = org.run("plan", str(org.spec))
    assert "sse: false -> true" in plan.stdout and "enable_sse" in plan.stdout
    assert "one-way" in plan.stdout
    org.converge()  # the new environment is created through REST once SSE is on
    with org.phase.owner() as owner:
        apps = {a["name"]: a for a in owner.get("/v1/apps/").json()["data"]}
        assert apps["vault"]["sseEnabled"] is True
        envs = owner.get("/v1/environments/", params={"app_id": apps["vault"]["id"]})
        assert envs.status_code == 200
        listed = owner.get(
            "/v1/secrets/",
            params={"app_id": apps["vault"]["id"], "env": "Development"},
        ).json()
    assert {s["value"] for s in listed} == {"vault-root-secret"}  # the server can read it now
    # the REST path manages the app from now on, E2EE access kept
    assert open_env(org, org.phase.pat("dana@acme.test"), "vault", "Development") is not None
    org.edit("phase.yaml", "      sse: true\n", "      sse: false\n")
    refused = org.run("plan", str(org.spec))
    assert refused.exit_code == 1 and "cannot be turned off" in refused.stderr


def test_a_key_replaced_between_plan_and_apply_is_refused_at_apply(org: Org) -> None:
    """The window an interactive apply leaves open (plan, confirm, apply): the recipient's
    key is checked again before anything is wrapped for it."""
    org.converge()
    org.edit("people.yaml", "        legacy-api: [Development]\n",
             "        legacy-api: [Development]\n        vault: [Production]\n")  # fmt: skip
    with Session(org.spec) as session:
        plan = session.make_plan()
        assert not plan.refused, plan.violations
        org.phase.control(
            "POST",
            "changes/",
            {"changes": [{"op": "replace_identity_key", "member": "dev@acme.test"}]},
        )
        result = session.apply(plan)
    failed = {str(r.address): r.message or "" for r in result.of_status(Status.FAILED)}
    assert "identity key changed since the plan" in failed["phase.member.dev@acme.test"]
    assert open_env(org, org.phase.pat("dev@acme.test"), "vault", "Production") is None


def test_a_demoted_admin_keeps_the_e2ee_environments_the_spec_gives(org: Org) -> None:
    org.converge()
    org.edit(
        "people.yaml",
        "    admin@acme.test:\n      role: Admin\n",
        "    admin@acme.test:\n      role: Developer\n      access:\n"
        "        vault: [Development]\n        legacy-api: [Development]\n",
    )
    org.phase.control("DELETE", "counters/")
    org.converge()
    # the admin is in vault's app list: a REST access update would have wiped its keys
    assert not any("access" in r and r.startswith("PUT") for r in counters(org))
    admin = org.phase.pat("admin@acme.test")
    assert open_env(org, admin, "vault", "Development") is not None
    assert open_env(org, admin, "vault", "Production") is None
    assert open_env(org, admin, "legacy-api", "Development") is not None
    assert open_env(org, admin, "legacy-api", "Staging") is None


def apply_under(org: Org, faults: dict[str, Any]) -> ApplyResult:
    """Plan cleanly, then apply (one change at a time) under ``faults``."""
    with Session(org.spec) as session:
        plan = session.make_plan()
        assert not plan.refused, plan.violations
        org.phase.control("POST", "faults/", faults)
        try:
            return session.apply(plan, concurrency=1)
        finally:
            org.phase.control("DELETE", "faults/")


def test_lost_answers_of_console_steps_are_adopted_or_sent_again(org: Org) -> None:
    """The E2EE environment's creation answer is lost: it is found among the applier's keys
    and adopted; a grant's answer is lost: the upsert is sent again. Nothing fails."""
    org.edit("people.yaml", "        vault: [Development, Audit]\n", "")
    org.edit("people.yaml", "        vault: [Production]\n", "")
    org.edit("phase.yaml", "        - Audit\n", "")
    org.converge()
    vault = "      sse: false\n      environments:\n        - Development\n        - Production\n"
    org.edit("phase.yaml", vault, vault + "        - Audit\n")
    org.edit("people.yaml", "        checkout: [dev, qa]\n",
             "        checkout: [dev, qa]\n        vault: [Audit]\n")  # fmt: skip
    first = apply_under(org, {"lost": 1, "only": "CreateEnv"})
    assert first.ok, [r.line() for r in first.results]
    created = {str(r.address): r.message for r in first.results}
    assert created["phase.environment.vault/Audit"] == "adopted existing environment"
    assert open_env(org, org.phase.pat("dana@acme.test"), "vault", "Audit") is not None
    assert org.run("plan", str(org.spec), "--detailed-exitcode").exit_code == 0
    # a grant whose answer is lost twice is sent again, and converges
    org.edit("people.yaml", "        vault: [Audit]\n", "        vault: [Audit, Development]\n")
    result = apply_under(org, {"lost": 2, "only": "UpdateEnvScope"})
    assert result.ok, [r.line() for r in result.results]
    assert open_env(org, org.phase.pat("dana@acme.test"), "vault", "Development") is not None
    again = org.run("plan", str(org.spec), "--detailed-exitcode")
    assert again.exit_code == 0, again.output


def test_a_promoted_member_gets_the_e2ee_environments_the_applier_holds(org: Org) -> None:
    org.converge()
    org.edit(
        "people.yaml",
        "    dev@acme.test:\n      role: Developer\n      access:\n"
        "        legacy-api: [Development]\n",
        "    dev@acme.test:\n      role: Admin\n",
    )
    org.converge()
    dev = org.phase.pat("dev@acme.test")
    for env in ("Development", "Production", "Audit"):
        assert open_env(org, dev, "vault", env) is not None, env


def test_e2ee_environments_are_renamed_and_deleted_through_the_console(org: Org) -> None:
    org.converge()
    org.edit("phase.yaml", "        - Audit\n",
             "        - {name: Compliance, previous_name: Audit}\n")  # fmt: skip
    org.edit("people.yaml", "vault: [Development, Audit]", "vault: [Development, Compliance]")
    org.edit("phase.yaml", "        - Production\n        - {name",
             "        - {name")  # fmt: skip
    org.edit("people.yaml", "        vault: [Production]\n", "")
    plan = org.run("plan", str(org.spec))
    assert "~ phase.environment.vault/Compliance" in plan.stdout
    assert "- phase.environment.vault/Production" in plan.stdout
    org.converge()
    dana = org.phase.pat("dana@acme.test")
    assert open_env(org, dana, "vault", "Compliance") is not None  # same key, new name
    with org.phase.owner() as owner:
        names = {
            e["environment"]["name"]
            for a in owner.get("/secrets/tokens/").json()["apps"]
            if a["name"] == "vault"
            for e in a["environment_keys"]
        }
    assert names == {"Development", "Compliance"}
