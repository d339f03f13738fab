"""Integration routes of the Flagsmith sandbox (``api/integrations/``).

Project integrations, ``/projects/{id}/integrations/{slug}/`` (``ProjectIntegrationBaseViewSet``,
``pagination_class = None``): list is a plain array of 0 or 1 configuration; ``POST`` creates
(201), or answers 400 ``["This integration already exists for this project."]`` when a live
one exists, or revives a soft-deleted one (same row, same id); ``GET|PUT|PATCH|DELETE
.../{cid}/``; ``DELETE`` is a soft delete (204). ``PUT`` requires every required field.

Secrets: ``gitlab.access_token`` and ``azure-devops.personal_access_token`` are answered as
``"write-only"``. GitLab (main) stores whatever it is sent, the literal placeholder included;
Azure DevOps (``feat/azure-devops-07-labels``) drops a placeholder on update and keeps the
stored PAT, unless the ``bug_placeholder`` setting is on (then it behaves as PR #7622 and
stores the placeholder too). Datadog, New Relic and Grafana answer ``api_key`` in clear.

Azure DevOps validates a new PAT on create and on any update carrying one that is not the
placeholder: ``GET {organisation_url}/_apis/projects?api-version=7.1&$top=1`` with basic auth
``("", pat)`` and a 10 s timeout, against the fake ADO this sandbox serves (``ado.py``); a 401
or 403 is 400 ``Azure DevOps rejected the credentials. ...``, any other failure 400 ``Azure
DevOps could not be reached ...``.

Organisation GitHub integration, ``/organisations/{org}/integrations/github/`` (a page; one per
organisation, a second is 400 ``Duplication error. The GitHub integration already created``)
and ``.../github/{gid}/repositories/`` (a page; duplicate links are 400).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import httpx
from fastapi.responses import JSONResponse, Response

from reconciler.sandbox.flagsmith.api import Call, Handler
from reconciler.sandbox.flagsmith.projects import project_of
from reconciler.sandbox.flagsmith.store import Row, now
from reconciler.sandbox.flagsmith.wire import (
    ApiError,
    as_int,
    boolean,
    field_error,
    invalid,
    not_found,
    page,
    require,
)

PLACEHOLDER = "write-only"
# slug -> (fields in answer order, required, booleans with their defaults, masked secret)
KINDS: dict[str, tuple[tuple[str, ...], tuple[str, ...], dict[str, bool], str | None]] = {
    "gitlab": (
        ("gitlab_instance_url", "access_token", "labeling_enabled"),
        ("gitlab_instance_url", "access_token"),
        {"labeling_enabled": False},
        "access_token",
    ),
    "azure-devops": (
        ("organisation_url", "personal_access_token", "labeling_enabled", "tagging_enabled"),
        ("organisation_url", "personal_access_token"),
        {"labeling_enabled": False, "tagging_enabled": False},
        "personal_access_token",
    ),
    "datadog": (
        ("base_url", "api_key", "use_custom_source"),
        ("api_key",),
        {"use_custom_source": False},
        None,
    ),
    "new-relic": (("base_url", "api_key", "app_id"), ("api_key",), {}, None),
    "grafana": (("base_url", "api_key"), ("api_key",), {}, None),
}
URL_FIELDS = {"gitlab_instance_url": 200, "organisation_url": 300, "base_url": 200}
REJECTED = (
    "Azure DevOps rejected the credentials. Check the organisation URL and personal access token."
)
UNREACHABLE = "Azure DevOps could not be reached to validate the credentials. Please try again."


def shown(slug: str, row: Row) -> dict[str, Any]:
    fields, _required, _bools, secret = KINDS[slug]
    out = {"id": row["id"], **{f: row.get(f) for f in fields}}
    if secret is not None:
        out[secret] = PLACEHOLDER
    return out


def _kind(call: Call) -> str:
    slug = call.path["slug"]
    if slug not in KINDS:
        raise not_found()
    return slug


def _validated(slug: str, body: Any, partial: bool) -> dict[str, Any]:
    fields, required, bools, _secret = KINDS[slug]
    if not isinstance(body, dict):
        raise invalid("Invalid data. Expected a dictionary, but got list.")
    if not partial:
        require(body, *required)
    out: dict[str, Any] = {}
    for name in fields:
        if name not in body:
            continue
        if name in bools:
            out[name] = boolean(body, name, bools[name])
        elif name in URL_FIELDS:
            value = str(body[name])
            parts = urlsplit(value)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise field_error(name, "Enter a valid URL.")
            if len(value) > URL_FIELDS[name]:
                raise field_error(
                    name, f"Ensure this field has no more than {URL_FIELDS[name]} characters."
                )
            out[name] = value
        else:
            out[name] = None if body[name] is None else str(body[name])
    return out


def probe(call: Call, organisation_url: str, pat: str) -> None:
    """The server's ``_validate_pat_against_ado``, against the fake ADO (``ado.py``)."""
    parts = urlsplit(organisation_url.rstrip("/"))
    target = f"{call.runtime.root}/_ado/{parts.netloc}{parts.path}/_apis/projects"
    try:
        answer = httpx.get(
            target, params={"api-version": "7.1", "$top": "1"}, auth=("", pat), timeout=10.0
        )
    except httpx.HTTPError:
        raise ApiError(400, [UNREACHABLE]) from None
    if answer.status_code in (401, 403):
        raise ApiError(400, [REJECTED])
    if answer.status_code >= 300:
        raise ApiError(400, [UNREACHABLE])


def configurations(call: Call) -> Response:
    slug = _kind(call)
    parent = project_of(call, call.path["id"])
    call.admin()
    store = call.store
    rows = store.rows("integrations", project=parent["id"], kind=slug)
    if call.method == "GET":
        return JSONResponse([shown(slug, r) for r in rows if r.get("deleted_at") is None])
    data = _validated(slug, call.body, partial=False)
    if any(r.get("deleted_at") is None for r in rows):
        raise ApiError(400, ["This integration already exists for this project."])
    if slug == "azure-devops":
        probe(call, data["organisation_url"], data["personal_access_token"])
    _fields, _required, bools, _secret = KINDS[slug]
    if rows:  # soft-deleted: the same row comes back (the one-to-one covers deleted rows)
        row = rows[0]
        row.update(data)
        row["deleted_at"] = None
    else:
        row = store.insert("integrations", {"project": parent["id"], "kind": slug, **bools, **data})
    return JSONResponse(shown(slug, row), 201)


def configuration(call: Call) -> Response:
    slug = _kind(call)
    parent = project_of(call, call.path["id"])
    call.admin()
    row = call.store.get("integrations", call.path["cid"])
    if (
        row is None
        or row["project"] != parent["id"]
        or row["kind"] != slug
        or row.get("deleted_at")
    ):
        raise not_found()
    if call.method == "GET":
        return JSONResponse(shown(slug, row))
    if call.method == "DELETE":
        row["deleted_at"] = now()
        return Response(status_code=204)
    data = _validated(slug, call.body, partial=call.method == "PATCH")
    secret = KINDS[slug][3]
    if slug == "azure-devops" and secret in data:
        if data[secret] == PLACEHOLDER and not call.store.settings.get("bug_placeholder"):
            del data[secret]  # feat/azure-devops-07: the placeholder means "no change"
        elif data[secret] != PLACEHOLDER:
            url = str(data.get("organisation_url") or row["organisation_url"])
            probe(call, url, data[secret])
    row.update(data)
    return JSONResponse(shown(slug, row))


def _github(call: Call) -> tuple[Row, list[Row]]:
    org = call.organisation(call.path["org"])
    call.admin()
    return org, call.store.rows("github", organisation=org["id"])


def github_list(call: Call) -> Response:
    org, rows = _github(call)
    shown_rows = [
        {"id": r["id"], "installation_id": r["installation_id"], "organisation": org["id"]}
        for r in rows
    ]
    if call.method == "GET":
        return JSONResponse(page(shown_rows, call.params, call.url))
    body = require(call.body, "installation_id")
    if rows:
        raise ApiError(400, "Duplication error. The GitHub integration already created")
    value = str(body["installation_id"])
    if len(value) > 100:
        raise field_error("installation_id", "Ensure this field has no more than 100 characters.")
    row = call.store.insert("github", {"organisation": org["id"], "installation_id": value})
    return JSONResponse({"id": row["id"], "installation_id": value, "organisation": org["id"]}, 201)


def github_item(call: Call) -> Response:
    org, rows = _github(call)
    row = next((r for r in rows if str(r["id"]) == call.path["gid"]), None)
    if row is None:
        raise not_found()
    if call.method == "DELETE":
        for repo in call.store.rows("repositories", github_configuration=row["id"]):
            call.store.delete("repositories", repo["id"])
        call.store.delete("github", row["id"])
        return Response(status_code=204)
    if (
        call.method in ("PUT", "PATCH")
        and isinstance(call.body, dict)
        and "installation_id" in call.body
    ):
        row["installation_id"] = str(call.body["installation_id"])
    return JSONResponse(
        {"id": row["id"], "installation_id": row["installation_id"], "organisation": org["id"]}
    )


REPO_FIELDS = (
    "id",
    "github_configuration",
    "project",
    "repository_owner",
    "repository_name",
    "tagging_enabled",
)


def repositories(call: Call) -> Response:
    org, rows = _github(call)
    config = next((r for r in rows if str(r["id"]) == call.path["gid"]), None)
    if config is None:
        raise not_found()
    store = call.store
    repos = store.rows("repositories", github_configuration=config["id"])
    if call.method == "GET":
        return JSONResponse(
            page([{k: r[k] for k in REPO_FIELDS} for r in repos], call.params, call.url)
        )
    body = require(call.body, "project", "repository_owner", "repository_name")
    project = store.get("projects", as_int(body["project"], "project"))
    if project is None or project["organisation"] != org["id"]:
        raise field_error("project", f'Invalid pk "{body["project"]}" - object does not exist.')
    key = (project["id"], str(body["repository_owner"]), str(body["repository_name"]))
    if any((r["project"], r["repository_owner"], r["repository_name"]) == key for r in repos):
        raise ApiError(400, ["Duplication error. The GitHub repository already linked"])
    row = store.insert(
        "repositories",
        {"github_configuration": config["id"], "project": key[0], "repository_owner": key[1]}
        | {"repository_name": key[2], "tagging_enabled": boolean(body, "tagging_enabled", False)},
    )
    return JSONResponse({k: row[k] for k in REPO_FIELDS}, 201)


def repository(call: Call) -> Response:
    _org, rows = _github(call)
    config = next((r for r in rows if str(r["id"]) == call.path["gid"]), None)
    row = call.store.get("repositories", call.path["rid"])
    if config is None or row is None or row["github_configuration"] != config["id"]:
        raise not_found()
    if call.method == "DELETE":
        call.store.delete("repositories", row["id"])
        return Response(status_code=204)
    body = call.body if isinstance(call.body, dict) else {}
    if call.method == "PUT":
        require(body, "project", "repository_owner", "repository_name")
    for name in ("repository_owner", "repository_name"):
        if name in body:
            row[name] = str(body[name])
    if "project" in body:
        row["project"] = as_int(body["project"], "project")
    if "tagging_enabled" in body:
        row["tagging_enabled"] = boolean(body, "tagging_enabled", False)
    return JSONResponse({k: row[k] for k in REPO_FIELDS})


GITHUB = "/organisations/{org}/integrations/github/"
ROUTES: list[tuple[str, str, Handler]] = [
    ("GET", "/projects/{id}/integrations/{slug}/", configurations),
    ("POST", "/projects/{id}/integrations/{slug}/", configurations),
    *[
        (m, "/projects/{id}/integrations/{slug}/{cid}/", configuration)
        for m in ("GET", "PUT", "PATCH", "DELETE")
    ],
    ("GET", GITHUB, github_list),
    ("POST", GITHUB, github_list),
    *[(m, GITHUB + "{gid}/", github_item) for m in ("GET", "PUT", "PATCH", "DELETE")],
    ("GET", GITHUB + "{gid}/repositories/", repositories),
    ("POST", GITHUB + "{gid}/repositories/", repositories),
    *[
        (m, GITHUB + "{gid}/repositories/{rid}/", repository)
        for m in ("GET", "PUT", "PATCH", "DELETE")
    ],
]
