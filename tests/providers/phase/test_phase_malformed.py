"""A malformed server answer on the write path is an ``address: message`` failure of that one
change, never an internal error: ``apply`` of the example organisation through a proxy that
drops one field from the sandbox's answers to one kind of create."""

from __future__ import annotations

import re

import pytest
from mangling_proxy import ManglingProxy, Rule
from phase_org import Org

LEGACY = "        - Staging\n        - Production\n    # End-to-end encrypted"
CASES = [
    ("POST /v1/apps/", "id", ["phase.app.payments", "phase.app.checkout"], "field 'id' missing"),
    ("POST /v1/roles/", "id", ["phase.role.Auditor"], "field 'id' missing"),
    ("POST /v1/environments/", "id", ["phase.environment.legacy-api/Qa"], "field 'id' missing"),
    (
        "POST /v1/service-accounts/",
        "initialToken.token",
        ["phase.service_account.ci-deployer"],
        "field 'initialToken.token' missing",
    ),
    (
        "POST /v1/service-accounts/{id}/tokens/",
        "token",
        ["phase.sa_token.ci-deployer/deploy"],
        "field 'token' missing",
    ),
    ("POST /v1/teams/", "id", ["phase.team.backend", "phase.team.frontend"], "field 'id' missing"),
    ("POST /v1/members/invites/", "id", ["phase.member.auditor@acme.test"], "field 'id' missing"),
    (
        "POST /graphql/ CreateEnv",
        "data.createEnvironment.environment.id",
        ["phase.environment.vault/Audit"],
        "field 'createEnvironment.environment.id' missing",
    ),
]


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("route", "drop", "addresses", "problem"), CASES, ids=[c[0] for c in CASES]
)
def test_a_malformed_create_answer_fails_that_change_by_address(
    org: Org, route: str, drop: str, addresses: list[str], problem: str
) -> None:
    org.edit("phase.yaml", LEGACY, LEGACY.replace("Production\n", "Production\n        - Qa\n"))
    rule = Rule(route, drop)
    with ManglingProxy(org.phase.url, [rule]) as proxy:
        org.monkeypatch.setenv("PHASE_URL", proxy.url)
        result = org.run("apply", str(org.spec), "--auto-approve")
    assert rule.hits > 0
    assert result.exit_code != 0
    for address in addresses:  # the report line: ``failed <address> (<seconds>): <message>``
        line = rf"failed {re.escape(address)} \([0-9.]+s\): "
        assert re.search(
            line + re.escape(f"unexpected answer from Phase ({problem})"), result.output
        )
    assert "internal error" not in result.output and "KeyError" not in result.output
