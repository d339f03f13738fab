"""Conformance of the provisioning routes, ``/config/`` and channel authentication."""

from __future__ import annotations

from messages_client import Api


def test_config_is_anonymous_and_publishes_the_flags(api: Api) -> None:
    answer = api.http.get(api.url + "config/")
    assert answer.status_code == 200
    body = answer.json()
    assert body["FEATURE_MAILDOMAIN_CREATE"] is True
    assert body["FEATURE_MAILDOMAIN_MANAGE_ACCESSES"] is True
    api.changes({"op": "set_flag", "name": "FEATURE_MAILDOMAIN_MANAGE_ACCESSES", "value": False})
    assert api.http.get(api.url + "config/").json()["FEATURE_MAILDOMAIN_MANAGE_ACCESSES"] is False


def test_channel_authentication_codes(api: Api) -> None:
    path = "provisioning/maildomains/"
    missing = api.prov("POST", path, headers={}, json={"domains": ["a.fr"]})
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == "X-API-Key"
    assert missing.json() == {"detail": "Authentication credentials were not provided."}
    wrong = {**api.key_headers(), "X-API-Key": "nope"}
    bad = api.prov("POST", path, headers=wrong, json={"domains": ["a.fr"]})
    assert (bad.status_code, bad.json()["detail"]) == (401, "Invalid channel or API key.")
    expired = api.ctl(
        "POST",
        "channels/",
        json={"scopes": ["maildomains:create"], "expires_at": "2020-01-01T00:00:00Z"},
    ).json()
    headers = {"X-Channel-Id": expired["id"], "X-API-Key": expired["api_key"]}
    old = api.prov("POST", path, headers=headers, json={"domains": ["a.fr"]})
    assert (old.status_code, old.json()["detail"]) == (401, "API key has expired.")


def test_scopes_and_scope_level(api: Api) -> None:
    reader = api.ctl("POST", "channels/", json={"scopes": ["maildomains:read"]}).json()
    headers = {"X-Channel-Id": reader["id"], "X-API-Key": reader["api_key"]}
    assert (
        api.prov(
            "POST", "provisioning/maildomains/", headers=headers, json={"domains": ["a.fr"]}
        ).status_code
        == 403
    )
    assert api.prov("GET", "provisioning/maildomains/dns/", headers=headers).status_code == 200
    local = api.ctl(
        "POST", "channels/", json={"scopes": ["maildomains:read"], "scope_level": "maildomain"}
    ).json()
    headers = {"X-Channel-Id": local["id"], "X-API-Key": local["api_key"]}
    assert api.prov("GET", "provisioning/maildomains/dns/", headers=headers).status_code == 403


def test_provisioning_is_an_upsert_whose_defaults_reset(api: Api) -> None:
    first = api.provision(
        ["acme.fr"], custom_attributes={"siret": "1", "org": "A"}, identity_sync=True
    )
    assert first == {"created": ["acme.fr"], "existing": [], "errors": []}
    row = api.stored("acme.fr")
    assert (row["oidc_autojoin"], row["identity_sync"]) == (True, True)
    again = api.provision(["acme.fr"], custom_attributes={"siret": "2"})
    assert again == {"created": [], "existing": ["acme.fr"], "errors": []}
    row = api.stored("acme.fr")
    # replaced wholesale, and the omitted identity_sync reset to its default
    assert row["custom_attributes"] == {"siret": "2"}
    assert row["identity_sync"] is False


def test_provisioning_canonicalises_and_reports_errors_per_domain(api: Api) -> None:
    answer = api.provision(["Café.FR", "bad name.fr", "ok.fr."])
    assert answer["created"] == ["xn--caf-dma.fr", "ok.fr"]
    assert answer["errors"] == [
        {"domain": "bad name.fr", "error": "{'name': ['Enter a valid value.']}"}
    ]
    as_text = api.prov("POST", "provisioning/maildomains/", json={"domains": "a.fr, b.fr"})
    assert as_text.json()["created"] == ["a.fr", "b.fr"]
    empty = api.prov("POST", "provisioning/maildomains/", json={"domains": []})
    assert empty.status_code == 400
    assert empty.json() == {"domains": ["At least one domain is required."]}


def test_dns_listing_pages_up_to_a_thousand(api: Api) -> None:
    api.provision([f"d{i:04d}.fr" for i in range(1005)])
    first = api.prov("GET", "provisioning/maildomains/dns/", params={"page_size": 5000}).json()
    assert first["count"] == 1005 and len(first["results"]) == 1000
    assert set(first["results"][0]) == {"id", "name", "expected_dns_records"}
    assert first["next"].endswith("page=2") and first["previous"] is None
    second = api.http.get(first["next"], headers=api.key_headers()).json()
    assert [d["name"] for d in second["results"]] == [f"d{i:04d}.fr" for i in range(1000, 1005)]
    out_of_range = api.prov("GET", "provisioning/maildomains/dns/", params={"page": 99})
    assert (out_of_range.status_code, out_of_range.json()) == (404, {"detail": "Invalid page."})


def test_provisioning_mailboxes_lookup(api: Api) -> None:
    api.provision(["acme.fr"])
    domain = api.domain_id("acme.fr")
    api.admin(
        "POST",
        f"maildomains/{domain}/mailboxes/",
        json={"local_part": "contact", "metadata": {"type": "shared", "name": "Contact"}},
    ).raise_for_status()
    box = api.admin("GET", f"maildomains/{domain}/mailboxes/").json()["results"][0]
    api.admin(
        "POST", f"mailboxes/{box['id']}/accesses/", json={"user": "bob@acme.fr", "role": "sender"}
    )
    found = api.prov("GET", "provisioning/mailboxes/", params={"email": "contact@acme.fr"}).json()
    assert found["results"][0]["users"] == [{"email": "bob@acme.fr", "role": "sender"}]
    by_user = api.prov(
        "GET", "provisioning/mailboxes/", params={"user_email": "bob@acme.fr"}
    ).json()
    assert by_user["results"][0]["role"] == "sender"
    assert api.prov("GET", "provisioning/mailboxes/").status_code == 400
