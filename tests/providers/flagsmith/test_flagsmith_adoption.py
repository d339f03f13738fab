"""Objects that appear between plan and apply, and the organisation the key belongs to."""

from __future__ import annotations

from flagsmith_org import Org

from reconciler.engine import Session


def test_a_create_answered_already_exists_is_adopted_and_brought_to_the_spec(org: Org) -> None:
    org.converge()
    text = (org.spec / "flagsmith.yaml").read_text()
    start, end = text.index("        gitlab:"), text.index("        datadog:")
    (org.spec / "flagsmith.yaml").write_text(text[:start] + text[end:])
    org.converge()  # the GitLab configuration is soft-deleted
    (org.spec / "flagsmith.yaml").write_text(text)
    with Session(org.spec) as session:
        plan = session.make_plan()
        pid = next(p["id"] for p in org.table("projects") if p["name"] == "web")
        # someone configures GitLab by hand between the plan and its apply
        made = org.api(
            "POST",
            f"/projects/{pid}/integrations/gitlab/",
            json={"gitlab_instance_url": "https://by.hand", "access_token": "by-hand"},
        )
        assert made.status_code == 201
        result = session.apply(plan)
        assert result.ok, [r.line() for r in result.results if not r.ok]
    stored = org.stored("web", "gitlab")
    assert stored["gitlab_instance_url"] == "https://gitlab.com"
    assert stored["access_token"] == org.secrets["GITLAB_TOKEN"]
    assert len([r for r in org.table("integrations") if r["kind"] == "gitlab"]) == 1
    again = org.run("plan", str(org.spec), "--detailed-exitcode")
    assert again.exit_code == 0, again.output


def test_the_spec_must_name_the_keys_own_organisation(org: Org) -> None:
    org.edit("flagsmith.yaml", "organisation: Acme", "organisation: Globex")
    result = org.run("plan", str(org.spec))
    assert result.exit_code == 1
    assert "the API key's organisation is Acme (id 1), not 'Globex'" in result.output
    assert "Traceback" not in result.output
