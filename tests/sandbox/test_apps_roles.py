"""Apps, environments and roles (docs/phase-api.md#apps, #environments, #roles, #reconciler-rules):
validation messages, sanitising, duplicate rules, E2EE refusals, hard deletes and their cascades,
key provisioning of new environments."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

ENV_NAME_MESSAGE = (
    "Environment name is invalid. Only letters, numbers, hyphens and underscores are allowed "
    "(max 64 characters)."
)


def error(response: httpx.Response, status: int, message: str) -> None:
    assert (response.status_code, response.json()) == (status, {"error": message})


def by_name(client: httpx.Client, path: str, key: str = "name") -> dict[str, Any]:
    return {x[key]: x for x in client.get(path).json()["data"]}


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({}, 400, "Missing required field: name"),
        ({"name": "   "}, 400, "Missing required field: name"),
        ({"name": "<b></b>"}, 400, "Missing required field: name"),
        ({"name": 5}, 400, "'name' must be a string."),
        ({"name": "x" * 65}, 400, "'name' cannot exceed 64 characters."),
        ({"name": "a", "description": 1}, 400, "'description' must be a string."),
        ({"name": "a", "environments": "dev"}, 400,
         "'environments' must be a list of environment names."),
        ({"name": "a", "environments": []}, 400, "'environments' must not be empty."),
        ({"name": "a", "environments": ["ok", " "]}, 400,
         "Each environment name must be a non-empty string."),
        ({"name": "a", "environments": ["qa", "QA "]}, 400, "Duplicate environment name: 'QA'."),
        ({"name": "a", "environments": ["bad name"]}, 400, ENV_NAME_MESSAGE),
        ({"name": "a", "environments": [f"e{i}" for i in range(11)]}, 403,
         "Environment quota exceeded for this app's plan."),
    ],
)  # fmt: skip
def test_app_create_validation(phase: Any, body: dict[str, Any], status: int, message: str) -> None:
    with phase.owner() as owner:
        before = len(owner.get("/v1/apps/").json()["data"])
        error(owner.post("/v1/apps/", json=body), status, message)
        assert len(owner.get("/v1/apps/").json()["data"]) == before  # nothing half-made


def test_app_text_is_sanitised_and_blank_description_is_null(phase: Any) -> None:
    with phase.owner() as owner:
        made = owner.post(
            "/v1/apps/",
            json={"name": "  <b>pay</b>\x07ments\t", "description": "<i>api</i>\n"},
        ).json()
        assert (made["name"], made["description"]) == ("payments", "api")
        app = made["id"]
        assert (
            owner.put(f"/v1/apps/{app}/", json={"description": " "}).json()["description"] is None
        )
        error(
            owner.put(f"/v1/apps/{app}/", json={}),
            400,
            "At least one of 'name' or 'description' must be provided.",
        )
        error(owner.put(f"/v1/apps/{app}/", json={"name": ""}), 400, "Missing required field: name")
        names = [a["name"] for a in owner.get("/v1/apps/").json()["data"]]
        assert names[0] == "payments"  # newest first
        # names are not unique
        assert owner.post("/v1/apps/", json={"name": "payments"}).status_code == 201


def test_e2ee_apps_are_listed_but_refused(phase: Any) -> None:
    with phase.owner() as owner:
        apps = by_name(owner, "/v1/apps/")
        vault = apps["vault"]
        assert vault["sseEnabled"] is False and apps["legacy-api"]["sseEnabled"] is True
        for method in ("GET", "PUT", "DELETE"):
            error(
                owner.request(method, f"/v1/apps/{vault['id']}/", json={"name": "x"}),
                403,
                "SSE is not enabled for this App.",
            )
        error(
            owner.get("/v1/environments/", params={"app_id": vault["id"]}),
            403,
            "SSE is not enabled for this App.",
        )
        error(
            owner.post("/v1/environments/", params={"app_id": vault["id"]}, json={"name": "x"}),
            403,
            "SSE is not enabled for this App.",
        )
        error(
            owner.get("/v1/secrets/", params={"app_id": vault["id"], "env": "Development"}),
            400,
            "SSE is not enabled for this App",
        )
        keys = owner.get("/secrets/tokens/").json()["apps"]
        assert {a["name"]: a["encryption"] for a in keys} == {"legacy-api": "SSE", "vault": "E2E"}


def test_environment_rules(phase: Any) -> None:
    with phase.owner() as owner:
        app = owner.post("/v1/apps/", json={"name": "envs"}).json()
        path = f"/v1/environments/?app_id={app['id']}"
        error(owner.post(path, json={}), 400, "Missing required field: name")
        error(owner.post(path, json={"name": "no spaces"}), 400, ENV_NAME_MESSAGE)
        error(owner.post(path, json={"name": "x" * 65}), 400, ENV_NAME_MESSAGE)
        error(
            owner.post(path, json={"name": "staging"}),
            400,
            "An environment named 'staging' already exists in this app.",
        )
        qa = owner.post(path, json={"name": "QA"}).json()
        assert (qa["envType"], qa["index"]) == ("custom", 3)
        detail = f"/v1/environments/{qa['id']}/"
        error(
            owner.put(detail, json={"name": "production"}),
            409,
            "An environment named 'production' already exists in this app.",
        )
        assert owner.put(detail, json={"name": "qa"}).json()["name"] == "qa"  # itself
        error(owner.put(detail, json={}), 400, "Missing required field: name")
        other = owner.post("/v1/apps/", json={"name": "other"}).json()
        error(owner.get(detail, params={"app_id": other["id"]}), 404, "Environment not found")
        for i in range(6):
            assert owner.post(path, json={"name": f"e{i}"}).status_code == 201
        error(
            owner.post(path, json={"name": "e6"}),
            403,
            "Environment quota exceeded for this app's plan.",
        )
        assert owner.delete(detail).status_code == 204
        error(owner.get(detail), 404, "Environment not found")
        assert owner.post(path, json={"name": "again"}).json()["index"] == 10  # max + 1


def test_new_environments_reach_global_members_and_the_creator_only(phase: Any) -> None:
    seeded = phase.control(
        "POST", "seed/", {"service_accounts": [{"name": "bot", "role": "Manager"}]}
    )
    with phase.owner() as owner:
        app = owner.post("/v1/apps/", json={"name": "grow"}).json()
        members = by_name(owner, "/v1/members/", "email")
        dana = members["dana@acme.test"]["id"]
        sa = seeded["service_accounts"]["bot"]["id"]
        first = {"apps": [{"id": app["id"], "environments": [app["environments"][0]["id"]]}]}
        assert owner.put(f"/v1/members/{dana}/access/", json=first).status_code == 200
        assert owner.put(f"/v1/service-accounts/{sa}/access/", json=first).status_code == 200
        made = owner.post(f"/v1/environments/?app_id={app['id']}", json={"name": "QA"}).json()
        dana_envs = owner.get(f"/v1/members/{dana}/access/").json()["apps"][0]["environments"]
        assert [e["name"] for e in dana_envs] == ["Development"]  # not automatic
        sa_envs = owner.get(f"/v1/service-accounts/{sa}/").json()["apps"][0]["environments"]
        # SSK SAs of the app do (in no fixed order, as on the real server)
        assert sorted(e["name"] for e in sa_envs) == ["Development", "QA"]
    admin_pat = phase.pat("admin@acme.test")
    with phase.client(admin_pat) as admin:
        envs = admin.get("/v1/environments/", params={"app_id": app["id"]}).json()["data"]
        assert made["id"] in {e["id"] for e in envs}


def test_environment_access_needs_a_key(phase: Any) -> None:
    with phase.owner() as owner:
        legacy = by_name(owner, "/v1/apps/")["legacy-api"]
        envs = owner.get("/v1/environments/", params={"app_id": legacy["id"]}).json()["data"]
        dana = by_name(owner, "/v1/members/", "email")["dana@acme.test"]["id"]
        grant = {"apps": [{"id": legacy["id"], "environments": [envs[0]["id"]]}]}
        owner.put(f"/v1/members/{dana}/access/", json=grant)
    with phase.client(phase.pat("dana@acme.test")) as dev:
        listed = dev.get("/v1/environments/", params={"app_id": legacy["id"]}).json()["data"]
        assert [e["name"] for e in listed] == ["Development"]
        error(
            dev.get(f"/v1/environments/{envs[1]['id']}/"),
            403,
            "You don't have access to this environment.",
        )
        error(
            dev.delete(f"/v1/environments/{envs[0]['id']}/"),
            403,
            "You don't have permission to delete environments.",
        )
        error(
            dev.put(f"/v1/apps/{legacy['id']}/", json={"name": "x"}),
            403,
            "You don't have permission to update apps.",
        )


def test_app_delete_is_hard_and_cascades(phase: Any) -> None:
    with phase.owner() as owner:
        legacy = by_name(owner, "/v1/apps/")["legacy-api"]
        dana = by_name(owner, "/v1/members/", "email")["dana@acme.test"]["id"]
        envs = owner.get("/v1/environments/", params={"app_id": legacy["id"]}).json()["data"]
        grant = {"apps": [{"id": legacy["id"], "environments": [envs[0]["id"]]}]}
        owner.put(f"/v1/members/{dana}/access/", json=grant)
        team = owner.post("/v1/teams/", json={"name": "t"}).json()
        owner.put(f"/v1/teams/{team['id']}/access/", json=grant)
        assert owner.delete(f"/v1/apps/{legacy['id']}/").status_code == 204
        error(owner.get(f"/v1/apps/{legacy['id']}/"), 404, f"App with ID {legacy['id']} not found")
        assert owner.get(f"/v1/members/{dana}/access/").json()["apps"] == []
        assert owner.get(f"/v1/teams/{team['id']}/").json()["apps"] == []
        assert "legacy-api" not in {a["name"] for a in owner.get("/secrets/tokens/").json()["apps"]}


ROLE_PERMS = {"permissions": {"Apps": ["read"]}, "app_permissions": {"Secrets": ["read"]}}


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"name": "admin", "permissions": ROLE_PERMS}, 409,
         "A role with this name already exists."),
        ({"name": "r"}, 400, "Missing required field: permissions (must be a JSON object)"),
        ({"name": "r", "permissions": {"permissions": {}}}, 400,
         "Missing required keys: app_permissions. Required keys: permissions, app_permissions."),
        ({"name": "r", "permissions": ROLE_PERMS | {"global_access": True}}, 400,
         "Unknown top-level keys: global_access. Allowed keys: permissions, app_permissions."),
        ({"name": "r", "permissions": {"permissions": {"Nope": []}, "app_permissions": {}}}, 400,
         "Unknown org permission class: 'Nope'. Valid classes: Apps, Billing, ExternalIdentities, "
         "IntegrationCredentials, LogStreams, Logs, MemberPersonalAccessTokens, Members, "
         "NetworkAccessPolicies, Organisation, Roles, SCIM, SSO, ServiceAccountTokens, "
         "ServiceAccounts, Teams."),
        ({"name": "r", "permissions": {"permissions": {"Logs": ["delete"]}, "app_permissions": {}}},
         400, "Unknown action 'delete' for org permission class 'Logs'. Valid actions: read."),
        ({"name": "r", "permissions": {"permissions": {}, "app_permissions": {"Secrets": "read"}}},
         400, "Actions for 'Secrets' must be an array."),
        ({"name": "r", "color": "#1234567", "permissions": ROLE_PERMS}, 400,
         "Role color cannot exceed 7 characters."),
        ({"name": "r", "description": "d" * 501, "permissions": ROLE_PERMS}, 400,
         "'description' cannot exceed 500 characters."),
    ],
)  # fmt: skip
def test_role_create_validation(
    phase: Any, body: dict[str, Any], status: int, message: str
) -> None:
    with phase.owner() as owner:
        error(owner.post("/v1/roles/", json=body), status, message)


def test_role_lifecycle_and_default_role_protection(phase: Any) -> None:
    with phase.owner() as owner:
        roles = by_name(owner, "/v1/roles/")
        admin = owner.get(f"/v1/roles/{roles['Admin']['id']}/").json()
        assert admin["permissions"]["globalAccess"] is True
        assert set(admin["permissions"]) == {"permissions", "appPermissions", "globalAccess"}
        assert admin["permissions"]["permissions"]["Organisation"] == ["read", "update"]
        for name in ("Owner", "Service"):
            error(
                owner.put(f"/v1/roles/{roles[name]['id']}/", json={"name": "x"}),
                403,
                "Default roles cannot be modified.",
            )
            error(
                owner.delete(f"/v1/roles/{roles[name]['id']}/"),
                403,
                "Default roles cannot be deleted.",
            )
        aliased = {"permissions": {}, "appPermissions": {"Secrets": ["read"]}}
        made = owner.post("/v1/roles/", json={"name": "Reader", "permissions": aliased}).json()
        role = made["id"]
        assert made["description"] == "" and made["color"] == ""
        error(owner.put(f"/v1/roles/{role}/", json={}), 400, "At least one field must be provided.")
        error(
            owner.put(f"/v1/roles/{role}/", json={"name": "developer"}),
            409,
            "A role with this name already exists.",
        )
        updated = owner.put(f"/v1/roles/{role}/", json={"name": "Reader2", "color": "#fff"}).json()
        assert (updated["name"], updated["color"]) == ("Reader2", "#fff")
        team = owner.post("/v1/teams/", json={"name": "t", "member_role_id": role}).json()
        assert team["memberRole"] == {"id": role, "name": "Reader2"}
        invite = owner.post("/v1/members/invites/", json={"email": "r@acme.test", "role_id": role})
        error(
            owner.delete(f"/v1/roles/{role}/"),
            409,
            "Cannot delete a role that has pending invites assigned to it.",
        )
        owner.delete(f"/v1/members/invites/{invite.json()['id']}/")
        sa = owner.post("/v1/service-accounts/", json={"name": "s", "role_id": role}).json()
        error(
            owner.delete(f"/v1/roles/{role}/"),
            409,
            "Cannot delete a role that has service accounts assigned to it.",
        )
        owner.delete(f"/v1/service-accounts/{sa['id']}/")
        dana = by_name(owner, "/v1/members/", "email")["dana@acme.test"]["id"]
        owner.put(f"/v1/members/{dana}/", json={"role_id": role})
        error(
            owner.delete(f"/v1/roles/{role}/"),
            409,
            "Cannot delete a role that has members assigned to it.",
        )
        owner.put(f"/v1/members/{dana}/", json={"role_id": roles["Developer"]["id"]})
        assert owner.delete(f"/v1/roles/{role}/").status_code == 204
        error(owner.get(f"/v1/roles/{role}/"), 404, "Role not found.")
        # the team override disappears silently
        assert owner.get(f"/v1/teams/{team['id']}/").json()["memberRole"] is None
