"""Faults on the way: every create's answer lost, a 429 storm, server errors on reads; nothing
is created twice. Long lists are read to their last page, the pages after the first pooled."""

from __future__ import annotations

from collections import Counter

from flagsmith_org import Org


def _no_duplicates(org: Org) -> None:
    state = org.ctl("GET", "state/")
    projects = Counter(p["name"] for p in state["projects"].values())
    assert projects == Counter({"web": 1, "api": 1})
    envs = Counter((e["project"], e["name"]) for e in state["environments"].values())
    assert set(envs.values()) == {1} and len(envs) == 5
    integrations = Counter((r["project"], r["kind"]) for r in state["integrations"].values())
    assert set(integrations.values()) == {1} and len(integrations) == 3
    assert len(state["invites"]) == 2 and len(state["groups"]) == 1
    assert len(state["project_permissions"]) == 1 and len(state["environment_permissions"]) == 1
    assert len(state["github"]) == 1 and len(state["repositories"]) == 1


def test_every_create_answer_lost_creates_nothing_twice(org: Org) -> None:
    org.ctl("POST", "faults/", {"lost": 100, "only": "POST"})
    result = org.run("apply", str(org.spec), "--auto-approve")
    org.ctl("DELETE", "faults/")
    assert result.exit_code == 0, result.output
    _no_duplicates(org)
    again = org.run("plan", str(org.spec), "--detailed-exitcode")
    assert again.exit_code == 0, again.output
    assert org.stored("web", "gitlab")["access_token"] == org.secrets["GITLAB_TOKEN"]


def test_a_429_storm_is_waited_out_and_creates_nothing_twice(org: Org) -> None:
    org.ctl("POST", "faults/", {"throttle": 25, "retry_after": 0})
    result = org.run("apply", str(org.spec), "--auto-approve")
    org.ctl("DELETE", "faults/")
    assert result.exit_code == 0, result.output
    _no_duplicates(org)
    assert org.ctl("GET", "counters/")["total"] > 25


def test_server_errors_on_reads_are_retried(org: Org) -> None:
    org.converge()
    org.ctl("POST", "faults/", {"errors": 3, "error_status": 502, "only": "GET"})
    assert org.run("plan", str(org.spec), "--detailed-exitcode").exit_code == 0
    org.ctl("DELETE", "faults/")


def test_every_page_is_read_with_the_later_pages_pooled(org: Org) -> None:
    org.converge()
    org.changes(*({"op": "create_group", "name": f"team-{i:02d}"} for i in range(24)))
    org.edit(
        "flagsmith.yaml",
        "  groups:\n    backend: {}\n",
        "  groups:\n    backend: {}\n    team-23: {}\n",
    )
    org.edit("flagsmith.yaml", "integrations, groups,", "integrations,")  # the others stay
    org.ctl("DELETE", "counters/")
    result = org.run("plan", str(org.spec), "--detailed-exitcode")
    assert result.exit_code == 0, result.output  # team-23 is on the third page
    assert org.ctl("GET", "counters/")["GET /organisations/{org}/groups/"] == 3
