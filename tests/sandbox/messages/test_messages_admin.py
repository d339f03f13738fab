"""Conformance of the admin REST routes (domains, domain admins, mailboxes, mailbox accesses)."""

from __future__ import annotations

from messages_client import Api


def test_admin_needs_a_bearer(api: Api) -> None:
    assert api.http.get(api.url + "maildomains/").status_code == 401


def test_domains_list_detail_create_and_flag(api: Api) -> None:
    api.provision(["b.fr", "a.fr"], custom_attributes={"siret": "1"})
    listed = api.admin("GET", "maildomains/").json()
    assert [d["name"] for d in listed["results"]] == ["a.fr", "b.fr"]
    item = listed["results"][0]
    assert "custom_attributes" not in item and "oidc_autojoin" not in item
    assert item["expected_dns_records"] is None
    detail = api.admin("GET", f"maildomains/{item['id']}/").json()
    assert detail["expected_dns_records"]
    made = api.admin("POST", "maildomains/", json={"name": "c.fr"})
    assert made.status_code == 201 and made.json()["oidc_autojoin"] is False
    assert api.admin("POST", "maildomains/", json={"name": "c.fr"}).status_code == 400
    api.changes({"op": "set_flag", "name": "FEATURE_MAILDOMAIN_CREATE", "value": False})
    assert api.admin("POST", "maildomains/", json={"name": "d.fr"}).status_code == 403
    assert api.admin("DELETE", f"maildomains/{item['id']}/").status_code == 405


def test_domain_list_pages_by_twenty(api: Api) -> None:
    api.provision([f"d{i:02d}.fr" for i in range(45)])
    first = api.admin("GET", "maildomains/", params={"page_size": 1000}).json()
    assert first["count"] == 45 and len(first["results"]) == 20
    third = api.admin("GET", "maildomains/", params={"page": 3}).json()
    assert len(third["results"]) == 5 and third["next"] is None


def test_domain_admins_grant_stub_duplicate_revoke_and_flag(api: Api) -> None:
    api.provision(["acme.fr"])
    domain = api.domain_id("acme.fr")
    made = api.admin(
        "POST", f"maildomains/{domain}/accesses/", json={"user": "new@acme.fr", "role": "admin"}
    )
    assert made.status_code == 201
    assert set(made.json()) == {"id", "user", "role", "created_at", "updated_at"}
    again = api.admin(
        "POST", f"maildomains/{domain}/accesses/", json={"user": "new@acme.fr", "role": "admin"}
    )
    assert again.status_code == 400
    listed = api.admin("GET", f"maildomains/{domain}/accesses/").json()
    assert [a["user"]["email"] for a in listed] == ["new@acme.fr"]
    access = listed[0]["id"]
    assert (
        api.admin("PATCH", f"maildomains/{domain}/accesses/{access}/", json={}).status_code == 405
    )
    api.changes({"op": "set_flag", "name": "FEATURE_MAILDOMAIN_MANAGE_ACCESSES", "value": False})
    assert api.admin("DELETE", f"maildomains/{domain}/accesses/{access}/").status_code == 403
    assert api.admin("GET", f"maildomains/{domain}/accesses/").status_code == 200
    api.changes({"op": "set_flag", "name": "FEATURE_MAILDOMAIN_MANAGE_ACCESSES", "value": True})
    assert api.admin("DELETE", f"maildomains/{domain}/accesses/{access}/").status_code == 204


def test_mailboxes_create_update_delete_and_one_time_password(api: Api) -> None:
    api.provision(["acme.fr"], identity_sync=True)
    domain = api.domain_id("acme.fr")
    path = f"maildomains/{domain}/mailboxes/"
    personal = api.admin(
        "POST",
        path,
        json={
            "local_part": "alice",
            "metadata": {"type": "personal", "first_name": "Alice", "last_name": "Martin"},
        },
    )
    assert personal.status_code == 201
    body = personal.json()
    assert body["one_time_password"] and body["contact"]["name"] == "Alice Martin"
    assert body["accesses"][0]["role"] == "admin" and body["is_identity"] is True
    shared = api.admin(
        "POST",
        path,
        json={"local_part": "contact", "metadata": {"type": "shared", "name": "Contact"}},
    )
    assert "one_time_password" not in shared.json()
    assert (
        api.admin(
            "POST", path, json={"local_part": "contact", "metadata": {"type": "shared"}}
        ).status_code
        == 400
    )
    box = shared.json()["id"]
    renamed = api.admin(
        "PATCH", f"{path}{box}/", json={"local_part": "x", "metadata": {"name": "Hello"}}
    )
    assert (
        renamed.json()["contact"]["name"] == "Hello" and renamed.json()["local_part"] == "contact"
    )
    listed = api.admin("GET", path).json()
    assert [b["local_part"] for b in listed["results"]] == ["alice", "contact"]
    assert api.admin("DELETE", f"{path}{box}/").status_code == 204
    assert api.admin("GET", f"{path}{box}/").status_code == 404


def test_mailbox_accesses(api: Api) -> None:
    api.provision(["acme.fr"])
    domain = api.domain_id("acme.fr")
    box = api.admin(
        "POST",
        f"maildomains/{domain}/mailboxes/",
        json={"local_part": "team", "metadata": {"type": "shared", "name": "Team"}},
    ).json()["id"]
    path = f"mailboxes/{box}/accesses/"
    made = api.admin("POST", path, json={"user": "bob@acme.fr", "role": "viewer"})
    assert made.status_code == 201 and made.json()["role"] == "viewer"
    assert (
        api.admin("POST", path, json={"user": "bob@acme.fr", "role": "viewer"}).status_code == 400
    )
    assert api.admin("POST", path, json={"user": "eve@acme.fr", "role": "owner"}).status_code == 400
    access = made.json()["id"]
    changed = api.admin("PATCH", f"{path}{access}/", json={"role": "sender"})
    assert changed.json()["role"] == "sender"
    assert api.admin("GET", f"{path}{access}/").json()["role"] == "sender"
    assert api.admin("PUT", f"{path}{access}/", json={}).status_code == 400  # role required
    assert api.admin("PUT", f"{path}{access}/", json={"role": 3}).json()["role"] == "sender"
    listed = api.admin("GET", path).json()
    assert listed["count"] == 1 and listed["results"][0]["user"]["email"] == "bob@acme.fr"
    assert api.admin("DELETE", f"{path}{access}/").status_code == 204


def test_domain_admins_see_their_domains_only_and_cannot_patch(api: Api) -> None:
    api.provision(["a.fr", "b.fr"])
    api.changes({"op": "add_admin", "domain": "a.fr", "email": "ann@a.fr"})
    token = api.ctl("POST", "tokens/", json={"email": "ann@a.fr"}).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    listed = api.http.get(api.url + "maildomains/", headers=headers).json()
    assert [d["name"] for d in listed["results"]] == ["a.fr"]
    a, b = api.domain_id("a.fr"), api.domain_id("b.fr")
    assert api.http.get(f"{api.url}maildomains/{b}/accesses/", headers=headers).status_code == 403
    own = api.http.get(f"{api.url}maildomains/{a}/accesses/", headers=headers).json()
    detail = api.http.get(f"{api.url}maildomains/{a}/accesses/{own[0]['id']}/", headers=headers)
    assert detail.json()["user"]["email"] == "ann@a.fr"
    patch = {"custom_settings": {"max_recipients_per_message": 5}}
    assert (
        api.http.patch(f"{api.url}maildomains/{a}/", headers=headers, json=patch).status_code == 403
    )
    as_superuser = api.admin("PATCH", f"maildomains/{a}/", json={**patch, "name": "z.fr"})
    assert as_superuser.status_code == 200 and as_superuser.json()["name"] == "a.fr"
    assert api.stored("a.fr")["custom_settings"] == {"max_recipients_per_message": 5}


def test_reset_password_needs_keycloak_identity_sync_and_a_personal_mailbox(api: Api) -> None:
    api.provision(["acme.fr"], identity_sync=True)
    domain = api.domain_id("acme.fr")
    path = f"maildomains/{domain}/mailboxes/"
    meta = {"type": "personal", "first_name": "A", "last_name": "B"}
    alice = api.admin("POST", path, json={"local_part": "alice", "metadata": meta}).json()["id"]
    shared = api.admin(
        "POST", path, json={"local_part": "team", "metadata": {"type": "shared", "name": "T"}}
    ).json()["id"]
    fresh = api.admin("PATCH", f"{path}{alice}/reset-password/")
    assert fresh.status_code == 200
    assert api.ctl("GET", "passwords/").json()["alice@acme.fr"] == fresh.json()["one_time_password"]
    assert api.admin("PATCH", f"{path}{shared}/reset-password/").status_code == 400
    assert api.admin("GET", f"{path}{alice}/").json()["can_reset_password"] is True
    api.changes({"op": "set_identity_provider", "value": None})
    gone = api.admin("PATCH", f"{path}{alice}/reset-password/")
    assert (gone.status_code, gone.json()) == (404, {"error": "Identity provider is not Keycloak."})
