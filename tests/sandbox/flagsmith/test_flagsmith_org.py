"""Authentication and the organisation routes of the Flagsmith sandbox: organisations (a page),
users (a plain array with roles), update-role, remove-users, invites (pages without role,
duplicates refused), groups (pages of 10, add/remove users)."""

from __future__ import annotations

from flagsmith_client import Api


def test_api_keys_authenticate_as_the_real_server_does(api: Api) -> None:
    missing = api.as_key(None, "GET", "/organisations/")
    assert missing.status_code == 401
    assert missing.json() == {"detail": "Authentication credentials were not provided."}
    wrong = api.as_key("abc.def", "GET", "/organisations/")
    assert wrong.status_code == 401 and wrong.json() == {
        "detail": "Valid Master API Key not found."
    }
    viewer = api.creds["FLAGSMITH_VIEWER_KEY"]
    assert api.as_key(viewer, "GET", "/projects/").json() == []
    assert api.as_key(viewer, "GET", "/organisations/1/users/").status_code == 403
    assert api.call("GET", "/organisations/2/users/").status_code == 403


def test_organisations_and_users(api: Api) -> None:
    orgs = api.call("GET", "/organisations/").json()
    assert orgs["count"] == 1 and orgs["next"] is None
    assert orgs["results"][0]["name"] == "Acme"
    [owner] = api.call("GET", "/organisations/1/users/").json()  # a plain array
    assert owner["email"] == "owner@acme.io" and owner["role"] == "ADMIN"
    assert set(owner) >= {"id", "first_name", "last_name", "last_login", "uuid", "date_joined"}
    api.ctl("POST", "changes/", {"changes": [{"op": "add_user", "email": "a@acme.io"}]})
    users = {u["email"]: u for u in api.call("GET", "/organisations/1/users/").json()}
    uid = users["a@acme.io"]["id"]
    bad = api.call("POST", f"/organisations/1/users/{uid}/update-role/", json={"role": "OWNER"})
    assert bad.status_code == 400 and bad.json() == {"role": ['"OWNER" is not a valid choice.']}
    ok = api.call("POST", f"/organisations/1/users/{uid}/update-role/", json={"role": "ADMIN"})
    assert ok.status_code == 200 and ok.json()["role"] == "ADMIN"
    assert (
        api.call(
            "POST", "/organisations/1/users/999/update-role/", json={"role": "USER"}
        ).status_code
        == 404
    )
    gone = api.call("POST", "/organisations/1/remove-users/", json=[{"id": uid}])
    assert gone.status_code == 200
    assert [u["email"] for u in api.call("GET", "/organisations/1/users/").json()] == [
        "owner@acme.io"
    ]


def test_invites_are_listed_without_role_and_accepted_out_of_band(api: Api) -> None:
    made = api.call(
        "POST", "/organisations/1/invites/", json={"email": "B@acme.io", "role": "ADMIN"}
    )
    assert made.status_code == 201
    assert made.json()["email"] == "b@acme.io" and made.json()["role"] == "ADMIN"
    again = api.call("POST", "/organisations/1/invites/", json={"email": "b@acme.io"})
    assert again.status_code == 400
    assert again.json() == {"email": ["Invite for email b@acme.io already exists"]}
    listed = api.call("GET", "/organisations/1/invites/").json()
    assert listed["count"] == 1 and "role" not in listed["results"][0]
    api.ctl("POST", "invites/accept/", {"email": "b@acme.io"})
    users = {u["email"]: u["role"] for u in api.call("GET", "/organisations/1/users/").json()}
    assert users["b@acme.io"] == "ADMIN"
    assert api.call("GET", "/organisations/1/invites/").json()["count"] == 0
    api.call("POST", "/organisations/1/invites/", json={"email": "c@acme.io"})
    iid = api.call("GET", "/organisations/1/invites/").json()["results"][0]["id"]
    assert api.call("DELETE", f"/organisations/1/invites/{iid}/").status_code == 204
    assert api.call("DELETE", f"/organisations/1/invites/{iid}/").status_code == 404


def test_groups_page_by_ten_and_hold_users(api: Api) -> None:
    for i in range(12):
        assert (
            api.call("POST", "/organisations/1/groups/", json={"name": f"g{i}"}).status_code == 201
        )
    dup = api.call("POST", "/organisations/1/groups/", json={"name": "g0"})
    assert dup.status_code == 400 and "non_field_errors" in dup.json()
    first = api.call("GET", "/organisations/1/groups/").json()
    assert first["count"] == 12 and len(first["results"]) == 10 and first["next"].endswith("page=2")
    second = api.call("GET", "/organisations/1/groups/", params={"page": 2, "page_size": 50}).json()
    assert len(second["results"]) == 2  # page_size is not honoured
    assert api.call("GET", "/organisations/1/groups/", params={"page": 3}).status_code == 404
    gid = first["results"][0]["id"]
    added = api.call("POST", f"/organisations/1/groups/{gid}/add-users/", json={"user_ids": [1]})
    assert [u["email"] for u in added.json()["users"]] == ["owner@acme.io"]
    unknown = api.call("POST", f"/organisations/1/groups/{gid}/add-users/", json={"user_ids": [99]})
    assert unknown.status_code == 400
    removed = api.call(
        "POST", f"/organisations/1/groups/{gid}/remove-users/", json={"user_ids": [1]}
    )
    assert removed.json()["users"] == []
    assert api.call("DELETE", f"/organisations/1/groups/{gid}/").status_code == 204
