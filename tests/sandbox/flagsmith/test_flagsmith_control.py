"""The Flagsmith sandbox's control API: faults (drops, errors, 429 with Retry-After, lost
answers, ``only``), counters by route template, out-of-band changes, state kept across a
restart."""

from __future__ import annotations

from pathlib import Path

import httpx
from flagsmith_client import Api

from reconciler.sandbox.flagsmith.server import FlagsmithSandbox


def test_faults_are_consumed_in_order_and_counted(api: Api) -> None:
    api.ctl(
        "POST", "faults/", {"throttle": 1, "retry_after": 7, "errors": 1, "only": "GET /projects/"}
    )
    assert api.call("GET", "/organisations/").status_code == 200  # not matched by only
    failed = api.call("GET", "/projects/")
    assert failed.status_code == 503
    throttled = api.call("GET", "/projects/")
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "7"
    assert api.call("GET", "/projects/").status_code == 200
    api.ctl("POST", "faults/", {"lost": 1, "only": "POST /projects/"})
    try:
        api.call("POST", "/projects/", json={"name": "web", "organisation": 1})
        raise AssertionError("the answer should have been lost")
    except httpx.HTTPError:
        pass
    assert [p["name"] for p in api.stored("projects")] == ["web"]  # made, answer lost
    api.ctl("POST", "faults/", {"drops": 1})
    try:
        api.call("POST", "/projects/", json={"name": "api", "organisation": 1})
        raise AssertionError("the connection should have been dropped")
    except httpx.HTTPError:
        pass
    assert [p["name"] for p in api.stored("projects")] == ["web"]  # not processed
    counters = api.ctl("GET", "counters/")
    assert counters["GET /projects/"] == 3 and counters["POST /projects/"] == 2
    bad = api.http.post(f"{api.sandbox.root}/_sandbox/faults/", json={"bogus": 1})
    assert bad.status_code == 400


def test_out_of_band_changes(api: Api) -> None:
    api.project("web")
    api.ctl(
        "POST",
        "changes/",
        {
            "changes": [
                {"op": "add_user", "email": "a@acme.io", "role": "USER"},
                {"op": "create_group", "name": "ops"},
                {"op": "set_grant", "project": "web", "group": "ops", "admin": True},
                {"op": "create_project", "name": "legacy"},
            ]
        },
    )
    assert len(api.call("GET", "/organisations/1/users/").json()) == 2
    assert api.call("GET", "/projects/1/user-group-permissions/").json()[0]["admin"] is True
    assert {p["name"] for p in api.call("GET", "/projects/").json()} == {"web", "legacy"}
    bad = api.http.post(f"{api.sandbox.root}/_sandbox/changes/", json={"changes": [{"op": "x"}]})
    assert bad.status_code == 400


def test_state_and_keys_survive_a_restart(tmp_path: Path) -> None:
    with FlagsmithSandbox(port=0, data_dir=tmp_path) as first:
        creds = dict(first.credentials)
        headers = {"Authorization": f"Api-Key {creds['FLAGSMITH_API_KEY']}"}
        httpx.post(
            creds["FLAGSMITH_URL"] + "/projects/",
            json={"name": "web", "organisation": 1},
            headers=headers,
        )
    assert (tmp_path / "flagsmith.sqlite3").exists()
    with FlagsmithSandbox(port=0, data_dir=tmp_path) as second:
        assert second.credentials["FLAGSMITH_API_KEY"] == creds["FLAGSMITH_API_KEY"]
        url = second.credentials["FLAGSMITH_URL"]
        assert [p["name"] for p in httpx.get(url + "/projects/", headers=headers).json()] == ["web"]
