"""The control API: DeployCenter login sync, faults, counters, out-of-band edits, persistence."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from messages_client import Api

from reconciler.sandbox.messages.server import MessagesSandbox


def _admins(api: Api, name: str) -> list[str]:
    rows = api.admin("GET", f"maildomains/{api.domain_id(name)}/accesses/").json()
    return sorted(a["user"]["email"] for a in rows)


def test_login_sync_follows_deploycenter_only(api: Api) -> None:
    api.provision(["acme.fr", "other.fr"])
    api.changes({"op": "add_admin", "domain": "acme.fr", "email": "bob@acme.fr"})
    local = api.ctl("POST", "login/", json={"email": "bob@acme.fr"}).json()
    assert local["synced"] is False and _admins(api, "acme.fr") == ["bob@acme.fr"]
    api.changes(
        {
            "op": "set_entitlements",
            "backend": "deploycenter",
            "users": {"bob@acme.fr": ["other.fr", "gone.fr"]},
        }
    )
    synced = api.ctl("POST", "login/", json={"email": "bob@acme.fr"}).json()
    assert synced["admin_of"] == ["other.fr"] and synced["removed"] == ["acme.fr"]
    assert _admins(api, "acme.fr") == [] and _admins(api, "other.fr") == ["bob@acme.fr"]


def test_faults_counters_and_only(api: Api) -> None:
    api.ctl("POST", "faults/", json={"throttle": 1, "retry_after": 3, "only": "GET /config/"})
    throttled = api.http.get(api.url + "config/")
    assert throttled.status_code == 429 and throttled.headers["retry-after"] == "3"
    assert api.http.get(api.url + "config/").status_code == 200
    api.ctl("POST", "faults/", json={"errors": 1, "error_status": 502})
    assert api.http.get(api.url + "config/").status_code == 502
    api.ctl("POST", "faults/", json={"lost": 1})
    with pytest.raises(httpx.TransportError):
        api.provision(["lost.fr"])
    assert api.stored("lost.fr")["name"] == "lost.fr"  # processed, answer lost
    api.ctl("POST", "faults/", json={"drops": 1})
    with pytest.raises(httpx.TransportError):
        api.provision(["dropped.fr"])
    assert all(d["name"] != "dropped.fr" for d in api.ctl("GET", "domains/").json())
    counters = api.ctl("GET", "counters/").json()
    assert counters["GET /config/"] == 3 and counters["POST /provisioning/maildomains/"] == 2
    assert api.ctl("POST", "faults/", json={"nope": 1}).status_code == 400


def test_out_of_band_edits(api: Api) -> None:
    api.provision(["acme.fr"], custom_attributes={"a": 1})
    api.changes(
        {
            "op": "set_domain",
            "domain": "acme.fr",
            "custom_attributes": {"a": 2},
            "oidc_autojoin": False,
        }
    )
    row = api.stored("acme.fr")
    assert row["custom_attributes"] == {"a": 2} and row["oidc_autojoin"] is False
    assert api.ctl("POST", "changes/", json={"changes": [{"op": "zap"}]}).status_code == 400


def test_state_survives_a_restart(tmp_path: Path) -> None:
    first = MessagesSandbox(port=0, data_dir=tmp_path)
    first.start()
    creds = dict(first.credentials)
    headers = {"X-Channel-Id": creds["MESSAGES_CHANNEL_ID"], "X-API-Key": creds["MESSAGES_API_KEY"]}
    httpx.post(
        creds["MESSAGES_URL"] + "provisioning/maildomains/",
        json={"domains": ["keep.fr"]},
        headers=headers,
    )
    first.stop()
    second = MessagesSandbox(port=0, data_dir=tmp_path)
    second.start()
    try:
        assert second.credentials["MESSAGES_API_KEY"] == creds["MESSAGES_API_KEY"]
        listed = httpx.get(second.url + "provisioning/maildomains/dns/", headers=headers).json()
        assert [d["name"] for d in listed["results"]] == ["keep.fr"]
    finally:
        second.stop()
