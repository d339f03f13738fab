"""Project integrations (masking, one per project, soft delete and revival, PUT vs PATCH, the
placeholder stored by GitLab as on main, dropped by Azure DevOps unless the bug switch is on,
the Azure DevOps PAT probe) and the organisation's GitHub integration."""

from __future__ import annotations

from flagsmith_client import Api

ADO = {"organisation_url": "https://dev.azure.com/acme", "personal_access_token": "pat-1"}


def _row(api: Api, kind: str) -> dict[str, object]:
    return next(r for r in api.stored("integrations") if r["kind"] == kind)


def test_one_configuration_per_project_soft_deleted_and_revived(api: Api) -> None:
    web = api.project()
    base = f"/projects/{web['id']}/integrations/gitlab/"
    body = {"gitlab_instance_url": "https://gitlab.com", "access_token": "tok-1"}
    made = api.call("POST", base, json=body)
    assert made.status_code == 201 and made.json()["access_token"] == "write-only"
    assert made.json()["labeling_enabled"] is False
    dup = api.call("POST", base, json=body)
    assert dup.status_code == 400 and dup.json() == [
        "This integration already exists for this project."
    ]
    assert api.call("GET", base).json() == [made.json()]  # a plain array
    cid = made.json()["id"]
    assert api.call("DELETE", f"{base}{cid}/").status_code == 204
    assert api.call("GET", base).json() == []
    assert api.call("GET", f"{base}{cid}/").status_code == 404
    revived = api.call("POST", base, json={**body, "access_token": "tok-2"})
    assert revived.status_code == 201 and revived.json()["id"] == cid
    assert _row(api, "gitlab")["access_token"] == "tok-2"


def test_put_needs_every_required_field_and_gitlab_stores_the_placeholder(api: Api) -> None:
    web = api.project()
    base = f"/projects/{web['id']}/integrations/gitlab/"
    cid = api.call(
        "POST", base, json={"gitlab_instance_url": "https://g.io", "access_token": "t"}
    ).json()["id"]
    put = api.call("PUT", f"{base}{cid}/", json={"labeling_enabled": True})
    assert put.status_code == 400 and put.json()["access_token"] == ["This field is required."]
    patch = api.call("PATCH", f"{base}{cid}/", json={"labeling_enabled": True})
    assert patch.status_code == 200 and _row(api, "gitlab")["access_token"] == "t"
    echoed = api.call("GET", f"{base}{cid}/").json()
    api.call("PUT", f"{base}{cid}/", json=echoed)  # the GET-then-PUT-back client of seed 000
    assert _row(api, "gitlab")["access_token"] == "write-only"


def test_azure_devops_probes_new_pats_and_drops_the_placeholder(api: Api) -> None:
    web = api.project()
    base = f"/projects/{web['id']}/integrations/azure-devops/"
    api.ctl(
        "POST",
        "ado/",
        {"organisation_url": "https://dev.azure.com/acme", "pats": ["pat-1", "pat-2"]},
    )
    rejected = api.call("POST", base, json={**ADO, "personal_access_token": "nope"})
    assert rejected.status_code == 400
    assert rejected.json() == [
        "Azure DevOps rejected the credentials. "
        "Check the organisation URL and personal access token."
    ]
    made = api.call("POST", base, json=ADO).json()
    assert made["personal_access_token"] == "write-only"
    probes = api.ctl("GET", "ado/")["probes"]
    echoed = api.call("PUT", f"{base}{made['id']}/", json={**made, "tagging_enabled": True})
    assert echoed.status_code == 200 and api.ctl("GET", "ado/")["probes"] == probes
    assert _row(api, "azure-devops")["personal_access_token"] == "pat-1"
    assert (
        api.call(
            "PATCH", f"{base}{made['id']}/", json={"personal_access_token": "pat-2"}
        ).status_code
        == 200
    )
    assert _row(api, "azure-devops")["personal_access_token"] == "pat-2"
    api.ctl("POST", "ado/", {"organisation_url": "https://dev.azure.com/acme", "down": True})
    down = api.call("PATCH", f"{base}{made['id']}/", json={"personal_access_token": "pat-1"})
    assert down.json() == [
        "Azure DevOps could not be reached to validate the credentials. Please try again."
    ]
    api.ctl("POST", "settings/", {"bug_placeholder": True})
    api.call("PATCH", f"{base}{made['id']}/", json={"personal_access_token": "write-only"})
    assert _row(api, "azure-devops")["personal_access_token"] == "write-only"


def test_clear_text_keys_and_url_validation(api: Api) -> None:
    web = api.project()
    base = f"/projects/{web['id']}/integrations/datadog/"
    made = api.call("POST", base, json={"base_url": "https://api.datadoghq.eu", "api_key": "dd"})
    assert made.json()["api_key"] == "dd" and made.json()["use_custom_source"] is False
    bad = api.call(
        "POST",
        f"/projects/{web['id']}/integrations/grafana/",
        json={"base_url": "nope", "api_key": "k"},
    )
    assert bad.json() == {"base_url": ["Enter a valid URL."]}
    assert api.call("GET", f"/projects/{web['id']}/integrations/nope/").status_code == 404


def test_github_configuration_and_repositories(api: Api) -> None:
    web = api.project()
    base = "/organisations/1/integrations/github/"
    made = api.call("POST", base, json={"installation_id": "123"})
    assert made.status_code == 201 and made.json()["organisation"] == 1
    assert api.call("POST", base, json={"installation_id": "456"}).status_code == 400
    listed = api.call("GET", base).json()
    assert listed["count"] == 1
    repos = f"{base}{made.json()['id']}/repositories/"
    body = {"project": web["id"], "repository_owner": "acme", "repository_name": "web"}
    repo = api.call("POST", repos, json=body)
    assert repo.status_code == 201 and repo.json()["tagging_enabled"] is False
    dup = api.call("POST", repos, json=body)
    assert dup.json() == ["Duplication error. The GitHub repository already linked"]
    patched = api.call("PATCH", f"{repos}{repo.json()['id']}/", json={"tagging_enabled": True})
    assert patched.json()["tagging_enabled"] is True
    assert api.call("GET", repos).json()["results"][0]["repository_name"] == "web"
    assert api.call("DELETE", f"{base}{made.json()['id']}/").status_code == 204
    assert api.stored("repositories") == []


def test_repositories_need_every_field_on_put(api: Api) -> None:
    web = api.project()
    gid = api.call(
        "POST", "/organisations/1/integrations/github/", json={"installation_id": "1"}
    ).json()["id"]
    repos = f"/organisations/1/integrations/github/{gid}/repositories/"
    body = {"project": web["id"], "repository_owner": "acme", "repository_name": "web"}
    rid = api.call("POST", repos, json=body).json()["id"]
    partial = api.call("PUT", f"{repos}{rid}/", json={"tagging_enabled": True})
    assert partial.status_code == 400 and "project" in partial.json()
    full = api.call("PUT", f"{repos}{rid}/", json={**body, "repository_name": "site"})
    assert full.json()["repository_name"] == "site"
    assert api.call("GET", f"/organisations/1/integrations/github/{gid}/").json()["id"] == gid
