"""Projects (a plain array, unique names, cascading delete), environments (pages of 10, the
project parameter required) and user and group grants on both."""

from __future__ import annotations

from flagsmith_client import Api


def test_projects_are_a_plain_array_with_unique_names(api: Api) -> None:
    web = api.project("web")
    assert set(web) >= {"id", "uuid", "name", "organisation"}
    dup = api.call("POST", "/projects/", json={"name": "web", "organisation": 1})
    assert dup.status_code == 400
    assert dup.json() == {"non_field_errors": ["A project with this name already exists."]}
    missing = api.call("POST", "/projects/", json={"organisation": 1})
    assert missing.json() == {"name": ["This field is required."]}
    listed = api.call("GET", "/projects/", params={"organisation": 1}).json()
    assert [p["name"] for p in listed] == ["web"]
    assert api.call("GET", "/projects/", params={"organisation": "x"}).status_code == 400
    other = api.call("POST", "/projects/", json={"name": "x", "organisation": 2})
    assert other.status_code == 403


def test_environments_page_by_ten_and_go_with_their_project(api: Api) -> None:
    web = api.project()
    assert api.call("GET", "/environments/").json() == [
        "Invalid or missing value for project parameter."
    ]
    for i in range(11):
        api.environment(web["id"], f"e{i}")
    dup = api.call("POST", "/environments/", json={"name": "e0", "project": web["id"]})
    assert dup.status_code == 400
    page = api.call("GET", "/environments/", params={"project": web["id"]}).json()
    assert page["count"] == 11 and len(page["results"]) == 10 and page["next"]
    env = page["results"][0]
    assert api.call("GET", f"/environments/{env['api_key']}/").json()["name"] == "e0"
    assert api.call("DELETE", f"/environments/{env['api_key']}/").status_code == 204
    assert api.call("DELETE", f"/projects/{web['id']}/").status_code == 204
    assert api.stored("environments") == []
    assert api.call("GET", f"/projects/{web['id']}/").status_code == 404


def test_grants_on_projects_and_environments(api: Api) -> None:
    web = api.project()
    env = api.environment(web["id"], "Production")
    group = api.call("POST", "/organisations/1/groups/", json={"name": "backend"}).json()
    base = f"/projects/{web['id']}"
    made = api.call(
        "POST",
        f"{base}/user-permissions/",
        json={"user": 1, "admin": False, "permissions": ["VIEW_PROJECT"]},
    )
    assert made.status_code == 201 and made.json()["user"] == 1
    listed = api.call("GET", f"{base}/user-permissions/").json()
    assert listed[0]["user"]["email"] == "owner@acme.io" and listed[0]["permissions"] == [
        "VIEW_PROJECT"
    ]
    dup = api.call("POST", f"{base}/user-permissions/", json={"user": 1})
    assert dup.status_code == 400
    bad = api.call(
        "POST",
        f"{base}/user-group-permissions/",
        json={"group": group["id"], "permissions": ["FLY"]},
    )
    assert bad.json() == {"permissions": ['Invalid pk "FLY" - object does not exist.']}
    gid = api.call("POST", f"{base}/user-group-permissions/", json={"group": group["id"]}).json()[
        "id"
    ]
    put = api.call(
        "PUT", f"{base}/user-group-permissions/{gid}/", json={"group": group["id"], "admin": True}
    )
    assert put.json()["admin"] is True and put.json()["permissions"] == []
    grp = api.call("GET", f"{base}/user-group-permissions/").json()[0]
    assert grp["group"]["name"] == "backend"
    ebase = f"/environments/{env['api_key']}"
    wrong = api.call(
        "POST", f"{ebase}/user-permissions/", json={"user": 1, "permissions": ["VIEW_PROJECT"]}
    )
    assert wrong.status_code == 400
    ok = api.call(
        "POST", f"{ebase}/user-permissions/", json={"user": 1, "permissions": ["VIEW_ENVIRONMENT"]}
    )
    assert ok.status_code == 201
    assert api.call("DELETE", f"{ebase}/user-permissions/{ok.json()['id']}/").status_code == 204
    assert api.call("GET", f"{ebase}/user-permissions/").json() == []


def test_detail_routes(api: Api) -> None:
    web = api.project()
    renamed = api.call("PATCH", f"/projects/{web['id']}/", json={"name": "www"})
    assert renamed.status_code == 200 and renamed.json()["name"] == "www"
    made = api.call("POST", f"/projects/{web['id']}/user-permissions/", json={"user": 1}).json()
    detail = api.call("GET", f"/projects/{web['id']}/user-permissions/{made['id']}/").json()
    assert detail == {"id": made["id"], "permissions": [], "admin": False, "user": 1}
    patched = api.call(
        "PATCH", f"/projects/{web['id']}/user-permissions/{made['id']}/", json={"admin": True}
    )
    assert patched.json()["admin"] is True and patched.json()["permissions"] == []
    wrong_kind = api.call("GET", f"/projects/{web['id']}/user-group-permissions/{made['id']}/")
    assert wrong_kind.status_code == 404
    group = api.call("POST", "/organisations/1/groups/", json={"name": "ops"}).json()
    shown = api.call("GET", f"/organisations/1/groups/{group['id']}/").json()
    assert shown["name"] == "ops" and shown["users"] == []
    api.call("POST", "/organisations/1/invites/", json={"email": "d@acme.io"})
    iid = api.call("GET", "/organisations/1/invites/").json()["results"][0]["id"]
    assert api.call("GET", f"/organisations/1/invites/{iid}/").json()["email"] == "d@acme.io"
    assert api.call("PATCH", "/organisations/1/groups/").status_code == 405
