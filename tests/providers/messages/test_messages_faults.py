"""Faults on the way: lost answers, server errors and throttling are absorbed; long lists are
read to their last page."""

from __future__ import annotations

import httpx
from messages_org import Org


def _key_headers(org: Org) -> dict[str, str]:
    return {
        "X-Channel-Id": org.credentials["MESSAGES_CHANNEL_ID"],
        "X-API-Key": org.credentials["MESSAGES_API_KEY"],
    }


def test_lost_and_failed_answers_are_absorbed(org: Org) -> None:
    # the upsert is re-sent after its answer is lost; the admin grant is looked up and adopted
    org.ctl("POST", "faults/", {"lost": 1, "only": "POST /provisioning/maildomains/"})
    first = org.run("apply", str(org.spec), "--auto-approve")
    assert first.exit_code == 0, first.output
    org.ctl("DELETE", "faults/")
    org.edit("messages.yaml", "admins: [alice@acme.fr]", "admins: [alice@acme.fr, eve@acme.fr]")
    org.ctl("POST", "faults/", {"drops": 1, "only": "POST /maildomains/{domain}/accesses/"})
    assert org.run("apply", str(org.spec), "--auto-approve").exit_code == 0
    org.ctl("POST", "faults/", {"lost": 1, "only": "POST /maildomains/{domain}/accesses/"})
    org.edit("messages.yaml", "eve@acme.fr]", "eve@acme.fr, fay@acme.fr]")
    assert org.run("apply", str(org.spec), "--auto-approve").exit_code == 0
    # two 503s then a 429 on the reads: retried, then waited out
    org.ctl("POST", "faults/", {"errors": 2, "throttle": 1, "only": "GET"})
    org.converge()
    org.ctl("DELETE", "faults/")
    assert org.admins("acme.fr") == ["alice@acme.fr", "eve@acme.fr", "fay@acme.fr"]
    counters = org.ctl("GET", "counters/")
    assert counters["POST /provisioning/maildomains/"] >= 3  # 2 domains + the re-sent one


def test_every_page_is_read(org: Org) -> None:
    names = [f"d{i:04d}.fr" for i in range(1005)]
    answer = httpx.post(
        org.credentials["MESSAGES_URL"] + "provisioning/maildomains/",
        json={"domains": names},
        headers=_key_headers(org),
        timeout=60,
    )
    assert len(answer.json()["created"]) == 1005
    (org.spec / "messages.yaml").write_text(
        "version: 1\nmessages:\n  connection:\n    url: ${env:MESSAGES_URL}\n"
        "    channel_id: ${env:MESSAGES_CHANNEL_ID}\n    api_key: ${env:MESSAGES_API_KEY}\n"
        "  domains:\n    d1004.fr: {}\n"
    )
    assert org.run("plan", str(org.spec), "--detailed-exitcode").exit_code == 0  # 2 pages of 1000
    org.edit(
        "messages.yaml", "  domains:", "    admin_token: ${env:MESSAGES_ADMIN_TOKEN}\n  domains:"
    )
    org.ctl("DELETE", "counters/")
    assert org.run("plan", str(org.spec), "--detailed-exitcode").exit_code == 0  # 51 pages of 20
    assert org.ctl("GET", "counters/")["GET /maildomains/"] == 51
