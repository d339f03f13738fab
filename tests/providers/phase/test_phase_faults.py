"""Apply under injected faults (the sandbox's ``/_sandbox/faults/``): server errors, dropped
connections, answers lost after the change was made, 429 storms. Each run completes or stops
cleanly (every failure is a one-line message), creates nothing twice, and a re-run converges
with a stored token that works."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from phase_org import Org, ids, stored_tokens

from reconciler import engine
from reconciler.apply.result import Status


def apply_with_faults(org: Org, faults: dict[str, Any]) -> list[str]:
    """Plan cleanly, then apply under ``faults``; returns the failure lines."""
    with engine.Session(org.spec) as session:
        plan = session.make_plan()
        assert not plan.refused, plan.violations
        org.phase.control("POST", "faults/", faults)
        try:
            result = session.apply(plan)
        finally:
            org.phase.control("DELETE", "faults/")
    failed = [r for r in result.results if r.status is Status.FAILED]
    for r in failed:
        assert r.message and "\n" not in r.message and "Traceback" not in r.message
    return [f"{r.address}: {r.message}" for r in failed]


def assert_nothing_twice(org: Org) -> None:
    with org.phase.owner() as owner:
        for path in ("/v1/apps/", "/v1/service-accounts/", "/v1/teams/", "/v1/roles/"):
            names = Counter(x["name"] for x in owner.get(path).json()["data"])
            assert [n for n, k in names.items() if k > 1] == [], path
        invites = Counter(
            i["inviteeEmail"] for i in owner.get("/v1/members/invites/").json()["data"]
        )
        assert max(invites.values(), default=1) == 1
        sas = ids(owner, "/v1/service-accounts/")
        tokens = owner.get(f"/v1/service-accounts/{sas['ci-deployer']}/").json()["tokens"]
        assert [t["name"] for t in tokens] == ["deploy"]
    stored = stored_tokens(org)
    assert len(stored) == 1
    # the stored token is the live one: it authenticates
    with org.phase.client(stored[0]) as robot:
        assert robot.get("/v1/apps/").status_code == 200


@pytest.mark.parametrize(
    "faults",
    [
        pytest.param({"error_every": 3}, id="every-third-request-503"),
        pytest.param({"errors": 40}, id="outage-of-40-requests"),
        pytest.param({"drops": 6}, id="connections-dropped-unprocessed"),
        pytest.param({"lost": 12}, id="answers-lost-after-the-change"),
        pytest.param({"throttle": 6, "retry_after": 1}, id="429-storm"),
    ],
)
def test_apply_under_faults_stops_cleanly_and_a_rerun_converges(
    org: Org, faults: dict[str, Any]
) -> None:
    failures = apply_with_faults(org, faults)
    if "throttle" in faults:
        assert failures == []  # pacing never fails a run
    org.converge()
    assert_nothing_twice(org)


def test_every_post_answer_lost_is_still_created_once(org: Org) -> None:
    """Every request of the apply is executed and its answer lost: creates are found by name
    and adopted, the token minted with its account is replaced (its secret never arrived)."""
    failures = apply_with_faults(org, {"lost": 1000})
    assert failures  # without answers some changes cannot finish; they say why
    assert all("no answer from the target" in f or "HTTP" in f for f in failures)
    org.converge()
    assert_nothing_twice(org)
