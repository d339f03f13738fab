"""Reading without the admin API: the API key's domain listing, or "ensure" mode."""

from __future__ import annotations

from messages_org import Org

DOMAINS_ONLY = """\
version: 1
messages:
  connection:
    url: ${env:MESSAGES_URL}
    channel_id: ${env:MESSAGES_CHANNEL_ID}
    api_key: ${env:MESSAGES_API_KEY}
  domains:
    acme.fr: {custom_attributes: {siret: "1"}}
    Café.FR: {}
"""


def _domains_only(org: Org) -> None:
    (org.spec / "messages.yaml").write_text(DOMAINS_ONLY)


def test_listing_mode_sees_every_domain(org: Org) -> None:
    _domains_only(org)
    org.changes({"op": "create_domain", "domain": "xn--caf-dma.fr"})  # the IDN name, made by hand
    planned = org.plan_json()
    actions = {c["address"]: c["action"] for c in planned["changes"]}
    assert actions == {"messages.domain.acme.fr": "create"}  # Café.FR is xn--caf-dma.fr
    org.converge()
    routes = org.ctl("GET", "counters/")
    assert "GET /maildomains/" not in routes  # no admin API without its token
    assert routes["GET /provisioning/maildomains/dns/"] >= 1


def test_ensure_mode_when_nothing_can_be_listed(org: Org) -> None:
    _domains_only(org)
    blind = org.ctl("POST", "channels/", {"scopes": ["maildomains:create"]})
    org.monkeypatch.setenv("MESSAGES_CHANNEL_ID", blind["id"])
    org.monkeypatch.setenv("MESSAGES_API_KEY", blind["api_key"])
    planned = org.run("plan", str(org.spec))
    assert "ensure mode" in planned.output and "cannot be seen" in planned.output
    org.converge()  # the state store remembers what it provisioned: the next plan is empty
    quiet = org.run("plan", str(org.spec))
    assert "No changes" in quiet.output and quiet.output.count("ensure mode") == 1
    assert {d["name"] for d in org.ctl("GET", "domains/")} == {"acme.fr", "xn--caf-dma.fr"}
    org.edit("messages.yaml", 'siret: "1"', 'siret: "2"')
    planned = org.plan_json()
    assert [c["action"] for c in planned["changes"]] == ["update"]
    org.converge()
    assert org.stored("acme.fr")["custom_attributes"] == {"siret": "2"}
