"""Plan gates (docs/phase-api.md#plan-gates, #plan-gates-on-create-paths): a Free organisation
answers 403 where the real server does; the default environments stay renameable and deletable."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from reconciler.sandbox.server import Sandbox


def error(response: httpx.Response, status: int, message: str) -> None:
    assert (response.status_code, response.json()) == (status, {"error": message})


@pytest.fixture(scope="module")
def free() -> Iterator[Sandbox]:
    with Sandbox(plan="free") as sandbox:
        yield sandbox


@pytest.fixture
def owner(free: Sandbox) -> Iterator[httpx.Client]:
    credentials = httpx.post(f"{free.url}/_sandbox/reset/").json()
    bearer = credentials["PHASE_TOKEN"].split(":")[2]
    with httpx.Client(
        base_url=free.url, headers={"Authorization": f"Bearer User {bearer}"}, timeout=10
    ) as client:
        yield client


def test_free_plan_gates(owner: httpx.Client) -> None:
    error(
        owner.post("/v1/apps/", json={"name": "x", "environments": ["a"]}),
        403,
        "Custom environments are not available on the Free plan.",
    )
    roles = {"name": "r", "permissions": {"permissions": {}, "app_permissions": {}}}
    error(
        owner.post("/v1/roles/", json=roles),
        403,
        "Custom roles are not available on your organisation's plan.",
    )
    error(
        owner.post("/v1/teams/", json={"name": "t"}),
        403,
        "Teams are not available on your organisation's plan.",
    )
    service = next(
        r["id"] for r in owner.get("/v1/roles/").json()["data"] if r["name"] == "Service"
    )
    error(
        owner.post("/v1/service-accounts/", json={"name": "s", "role_id": service, "team_id": "x"}),
        403,
        "Teams are not available on your organisation's plan.",
    )
    app = owner.post("/v1/apps/", json={"name": "third"})
    assert app.status_code == 201  # two seeded apps + this one
    error(
        owner.post("/v1/apps/", json={"name": "fourth"}),
        403,
        "App quota exceeded for this organisation's plan.",
    )
    envs = app.json()["environments"]
    path = f"/v1/environments/?app_id={app.json()['id']}"
    error(
        owner.post(path, json={"name": "qa"}),
        403,
        "Environment quota exceeded for this app's plan.",
    )
    renamed = owner.put(f"/v1/environments/{envs[1]['id']}/", json={"name": "Stage"})
    assert renamed.status_code == 200
    assert owner.delete(f"/v1/environments/{envs[1]['id']}/").status_code == 204
    error(
        owner.post(path, json={"name": "Staging"}),
        403,
        "Custom environments are not available on the Free plan.",
    )


def test_free_plan_counts_seats_for_invites(owner: httpx.Client) -> None:
    developer = next(
        r["id"] for r in owner.get("/v1/roles/").json()["data"] if r["name"] == "Developer"
    )
    # four members and one pending invite fill the five Free seats
    error(
        owner.post("/v1/members/invites/", json={"email": "x@acme.test", "role_id": developer}),
        403,
        "Member quota exceeded for this organisation's plan.",
    )
