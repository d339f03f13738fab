"""Names, descriptions and e-mails end to end: the text is sent as the user wrote it, stored
as the server sanitises it (Django's strip_tags, not a regex), and the next plan is empty; a
change inside such text is a change; e-mails the server accepts are invited."""

from __future__ import annotations

from phase_org import Org


def app_descriptions(org: Org) -> dict[str, str | None]:
    with org.phase.owner() as owner:
        return {a["name"]: a["description"] for a in owner.get("/v1/apps/").json()["data"]}


def test_text_with_angle_brackets_is_stored_whole_and_converges(org: Org) -> None:
    org.edit("phase.yaml", "Payments API", "'latency < 5 ms > target'")
    org.edit("phase.yaml", "Checkout web front end", "'<b>Web</b> <!-- x > y -->shop'")
    org.edit("people.yaml", "description: Backend engineers", "description: 'a < b > c'")
    org.converge()
    stored = app_descriptions(org)
    assert (stored["payments"], stored["checkout"]) == ("latency < 5 ms > target", "Web shop")
    with org.phase.owner() as owner:
        teams = {t["name"]: t["description"] for t in owner.get("/v1/teams/").json()["data"]}
    assert teams["backend"] == "a < b > c"


def test_a_change_inside_such_text_is_planned(org: Org) -> None:
    org.edit("phase.yaml", "description: Payments API", "description: 'p99 < 5 ms > target'")
    org.converge()
    org.edit("phase.yaml", "'p99 < 5 ms > target'", "'p99 < 9 ms > target'")
    plan = org.run("plan", str(org.spec), "--detailed-exitcode")
    assert plan.exit_code == 2 and "~ phase.app.payments" in plan.stdout, plan.output
    org.converge()
    assert app_descriptions(org)["payments"] == "p99 < 9 ms > target"


def test_text_the_server_cleans_twice_differently_still_converges(org: Org) -> None:
    # a control character hides a tag from the HTML parser and is removed after it: the server
    # stores "<b>x" (sending that again would store "x"), so the text must be sent as written
    org.edit("phase.yaml", "description: Payments API", 'description: "<\\0b>x</b>"')
    org.converge()
    assert app_descriptions(org)["payments"] == "<b>x"


def test_emails_the_server_accepts_are_invited(org: Org) -> None:
    org.edit(
        "people.yaml",
        "    admin@acme.test:\n      role: Admin\n",
        "    admin@acme.test:\n      role: Admin\n"
        "    ops@localhost:\n      role: Developer\n"
        "    ops@exämple.com:\n      role: Developer\n",
    )
    org.converge()
    with org.phase.owner() as owner:
        invited = {i["inviteeEmail"] for i in owner.get("/v1/members/invites/").json()["data"]}
    assert {"ops@localhost", "ops@exämple.com"} <= invited
