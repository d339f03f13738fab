"""Service accounts, tokens, members, invites and teams (docs/phase-api.md#service-accounts,
#members, #invites, #teams, #team-and-individual-access, #reconciler-rules): owner protection,
global-access and service-account rules, invite rules, the access PUT and its E2EE revocation
hazard, soft deletes, team grants."""

from __future__ import annotations

import datetime
from typing import Any

import httpx
import pytest


def error(response: httpx.Response, status: int, message: str) -> None:
    assert (response.status_code, response.json()) == (status, {"error": message})


class Org:
    """Ids of the default organisation, read through the owner's PAT."""

    def __init__(self, phase: Any) -> None:
        self.phase = phase
        with phase.owner() as owner:
            self.roles = {r["name"]: r["id"] for r in owner.get("/v1/roles/").json()["data"]}
            self.members = {m["email"]: m["id"] for m in owner.get("/v1/members/").json()["data"]}
            self.apps = {a["name"]: a["id"] for a in owner.get("/v1/apps/").json()["data"]}
            self.envs = {
                e["name"]: e["id"]
                for e in owner.get(
                    "/v1/environments/", params={"app_id": self.apps["legacy-api"]}
                ).json()["data"]
            }

    def grant(self, *names: str) -> dict[str, Any]:
        envs = [self.envs[n] for n in names]
        return {"apps": [{"id": self.apps["legacy-api"], "environments": envs}]}


@pytest.fixture
def org(phase: Any) -> Org:
    return Org(phase)


def test_service_account_create_and_update_rules(phase: Any, org: Org) -> None:
    with phase.owner() as owner:
        post = owner.post
        error(
            post("/v1/service-accounts/", json={"name": "s"}),
            400,
            "Missing required field: role_id",
        )
        error(
            post("/v1/service-accounts/", json={"role_id": org.roles["Service"]}),
            400,
            "Missing required field: name",
        )
        error(
            post("/v1/service-accounts/", json={"name": "s", "role_id": "nope"}),
            404,
            "Role not found.",
        )
        for name in ("Owner", "Admin"):
            error(
                post("/v1/service-accounts/", json={"name": "s", "role_id": org.roles[name]}),
                400,
                f"Service accounts cannot be assigned the '{name}' role.",
            )
        error(
            post(
                "/v1/service-accounts/",
                json={"name": "s", "role_id": org.roles["Service"], "token_name": " "},
            ),
            400,
            "Missing required field: token_name",
        )
        sa = post(
            "/v1/service-accounts/",
            json={"name": "s", "role_id": org.roles["Service"], "token_name": "ci"},
        ).json()
        assert sa["initialToken"]["name"] == "ci"
        path = f"/v1/service-accounts/{sa['id']}/"
        error(
            owner.put(path, json={}), 400, "At least one of 'name' or 'role_id' must be provided."
        )
        error(
            owner.put(path, json={"role_id": org.roles["Admin"]}),
            400,
            "Service accounts cannot be assigned the 'Admin' role.",
        )
        updated = owner.put(path, json={"name": "<b>s2</b>", "role_id": org.roles["Developer"]})
        assert updated.json()["name"] == "s2"
        assert updated.json()["role"] == {"id": org.roles["Developer"], "name": "Developer"}
        # two service accounts may share a name
        assert (
            post(
                "/v1/service-accounts/", json={"name": "s2", "role_id": org.roles["Service"]}
            ).status_code
            == 201
        )


def test_service_account_delete_is_soft_and_wipes_tokens_and_keys(phase: Any, org: Org) -> None:
    with phase.owner() as owner:
        sa = owner.post(
            "/v1/service-accounts/", json={"name": "s", "role_id": org.roles["Service"]}
        ).json()
        owner.put(f"/v1/service-accounts/{sa['id']}/access/", json=org.grant("Development"))
        token = sa["initialToken"]["token"]
        with phase.client(token) as bot:
            assert bot.get("/v1/apps/").status_code == 200
        assert owner.delete(f"/v1/service-accounts/{sa['id']}/").status_code == 204
        error(owner.get(f"/v1/service-accounts/{sa['id']}/"), 404, "Service account not found.")
        assert sa["id"] not in {s["id"] for s in owner.get("/v1/service-accounts/").json()["data"]}
        with phase.client(token) as bot:
            error(bot.get("/v1/apps/"), 401, "Token expired or deleted")
    bots = phase.control("GET", "principals/")["service_accounts"]
    assert next(s for s in bots if s["id"] == sa["id"])["deleted_at"] is not None


POSITIVE = "'expires_in' must be a positive integer (seconds)."


def test_token_expiry_rules(phase: Any, org: Org) -> None:
    with phase.owner() as owner:
        sa = owner.post(
            "/v1/service-accounts/", json={"name": "s", "role_id": org.roles["Service"]}
        ).json()
        path = f"/v1/service-accounts/{sa['id']}/tokens/"
        future = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=2)
        cases = [
            ({"name": "t", "expiry": 5}, "Unknown field 'expiry'. Use 'expires_at' (ISO-8601 with "
             "timezone) or 'expires_in' (positive integer seconds)."),
            ({"name": "t", "expires_at": future.replace(tzinfo=None).isoformat()},
             "'expires_at' must include a timezone offset (e.g. 'Z' or '+00:00')."),
            ({"name": "t", "expires_at": "2001-01-01T00:00:00Z"},
             "'expires_at' must be in the future."),
            ({"name": "t", "expires_at": "soon"}, "'expires_at' is not a valid ISO-8601 datetime."),
            ({"name": "t", "expires_at": 5}, "'expires_at' must be an ISO-8601 datetime string "
             "with timezone (e.g. '2026-12-31T23:59:59Z')."),
            ({"name": "t", "expires_in": True}, POSITIVE),
            ({"name": "t", "expires_in": 0}, POSITIVE),
            ({}, "Missing required field: name"),
        ]  # fmt: skip
        for body, message in cases:
            error(owner.post(path, json=body), 400, message)
        local = future.astimezone(datetime.timezone(datetime.timedelta(hours=2)))
        made = owner.post(
            path, json={"name": "t", "expires_at": local.isoformat(), "expires_in": 5}
        ).json()
        assert made["expiresAt"].endswith("+02:00")  # echoed with the caller's offset
        listed = owner.get(f"/v1/service-accounts/{sa['id']}/").json()["tokens"]
        stored = next(t for t in listed if t["id"] == made["id"])["expiresAt"]
        assert stored.endswith("Z")
        assert datetime.datetime.fromisoformat(stored) == datetime.datetime.fromisoformat(
            made["expiresAt"]
        )
        by_seconds = owner.post(path, json={"name": "t2", "expires_in": 3600}).json()
        assert by_seconds["expiresAt"].endswith("Z")


def test_a_service_account_manages_only_its_own_tokens(phase: Any, org: Org) -> None:
    seeded = phase.control(
        "POST",
        "seed/",
        {"service_accounts": [{"name": "mgr", "role": "Manager"}, {"name": "other"}]},
    )
    mgr = seeded["service_accounts"]["mgr"]
    other = seeded["service_accounts"]["other"]
    with phase.client(mgr["token"]) as client:
        made = client.post(f"/v1/service-accounts/{mgr['id']}/tokens/", json={"name": "self"})
        assert made.status_code == 201
        error(
            client.post(f"/v1/service-accounts/{other['id']}/tokens/", json={"name": "x"}),
            404,
            "Service account not found.",
        )
        dana = org.members["dana@acme.test"]
        error(
            client.put(f"/v1/members/{dana}/", json={"role_id": org.roles["Admin"]}),
            403,
            "You cannot assign the 'Admin' role.",
        )
        admin = org.members["admin@acme.test"]
        error(
            client.put(f"/v1/members/{admin}/", json={"role_id": org.roles["Developer"]}),
            403,
            "Service accounts cannot modify members with global access.",
        )
        error(
            client.delete(f"/v1/members/{admin}/"),
            403,
            "Service accounts cannot remove members with global access.",
        )
        # a non-global caller cannot grant apps it cannot reach
        error(
            client.put(
                f"/v1/service-accounts/{other['id']}/access/", json=org.grant("Development")
            ),
            403,
            "You don't have access to app 'legacy-api'.",
        )
        invite = client.post(
            "/v1/members/invites/",
            json={"email": "bot-invite@acme.test", "role_id": org.roles["Developer"]},
        )
        assert invite.json()["invitedBy"] == {"type": "service_account", "name": "mgr"}


def test_access_put_validation(phase: Any, org: Org) -> None:
    sa = phase.control("POST", "seed/", {"service_accounts": [{"name": "s"}]})
    sa_path = f"/v1/service-accounts/{sa['service_accounts']['s']['id']}/access/"
    member_path = f"/v1/members/{org.members['dana@acme.test']}/access/"
    legacy, vault = org.apps["legacy-api"], org.apps["vault"]
    cases = [
        ({}, 400, "Missing required field: apps"),
        ({"apps": {}}, 400, "'apps' must be a list."),
        ({"apps": ["x"]}, 400,
         "Each entry in 'apps' must be an object with 'id' and 'environments'."),
        ({"apps": [{"environments": []}]}, 400, "Each app entry must have an 'id' field."),
        ({"apps": [{"id": "nope", "environments": ["x"]}]}, 404, "App not found: nope"),
        ({"apps": [{"id": vault, "environments": ["x"]}]}, 400,
         "App 'vault' does not have SSE enabled. Only SSE apps are supported."),
        ({"apps": [{"id": legacy}]}, 400,
         "Each app entry must have an 'environments' list of environment IDs."),
        ({"apps": [{"id": legacy, "environments": ["nope"]}]}, 404,
         "Environment(s) not found in app 'legacy-api': nope"),
    ]  # fmt: skip
    with phase.owner() as owner:
        for body, status, message in cases:
            error(owner.put(member_path, json=body), status, message)
            error(owner.put(sa_path, json=body), status, message)
        empty = {"apps": [{"id": legacy, "environments": []}]}
        error(
            owner.put(member_path, json=empty),
            400,
            f"'environments' for app '{legacy}' must not be empty. To revoke all access, remove "
            "the app from the list entirely.",
        )
        error(
            owner.put(sa_path, json=empty),
            400,
            f"'environments' for app '{legacy}' must not be empty. To revoke all access, remove "
            "the app from the list.",
        )


def test_member_role_and_removal_protections(phase: Any, org: Org) -> None:
    owner_id, admin_id = org.members["owner@acme.test"], org.members["admin@acme.test"]
    dana = org.members["dana@acme.test"]
    with phase.owner() as owner:
        error(
            owner.put(f"/v1/members/{owner_id}/", json={"role_id": org.roles["Admin"]}),
            403,
            "The Owner role cannot be changed via the API. Use the ownership transfer flow.",
        )
        error(
            owner.delete(f"/v1/members/{owner_id}/"),
            403,
            "The Owner cannot be removed via the API. Use the ownership transfer flow.",
        )
        error(
            owner.put(f"/v1/members/{dana}/", json={"role_id": org.roles["Owner"]}),
            403,
            "You cannot assign the Owner role directly. Use the ownership transfer flow.",
        )
        error(owner.put(f"/v1/members/{dana}/", json={}), 400, "Missing required field: role_id")
        error(owner.put(f"/v1/members/{dana}/", json={"role_id": "x"}), 404, "Role not found.")
        error(owner.get("/v1/members/nope/"), 404, "Member not found.")
    with phase.client(phase.pat("admin@acme.test")) as admin:
        error(
            admin.put(f"/v1/members/{admin_id}/", json={"role_id": org.roles["Developer"]}),
            403,
            "You cannot update your own role.",
        )
        error(
            admin.delete(f"/v1/members/{admin_id}/"),
            403,
            "You cannot remove yourself from the organisation.",
        )
    with phase.owner() as owner:
        manager = owner.put(f"/v1/members/{dana}/", json={"role_id": org.roles["Manager"]})
        assert manager.json()["role"]["name"] == "Manager"
    with phase.client(phase.pat("dana@acme.test")) as mgr:
        error(
            mgr.put(f"/v1/members/{admin_id}/", json={"role_id": org.roles["Developer"]}),
            403,
            "You cannot update the role of a member with global access.",
        )
        error(
            mgr.delete(f"/v1/members/{admin_id}/"),
            403,
            "You cannot remove a member with a global access role.",
        )
        dev = org.members["dev@acme.test"]
        error(
            mgr.put(f"/v1/members/{dev}/", json={"role_id": org.roles["Admin"]}),
            403,
            "You cannot assign the 'Admin' role.",
        )
    with phase.client(phase.pat("dev@acme.test")) as developer:
        error(
            developer.put(f"/v1/members/{dana}/", json={"role_id": org.roles["Developer"]}),
            403,
            "You don't have permission to update members.",
        )


def test_members_without_an_identity_key_are_pending(phase: Any, org: Org) -> None:
    seeded = phase.control(
        "POST", "seed/", {"members": [{"email": "scim@acme.test", "identity": False}]}
    )
    scim = seeded["members"]["scim@acme.test"]
    assert "scim@acme.test" not in seeded["tokens"]
    with phase.owner() as owner:
        error(
            owner.put(f"/v1/members/{scim}/access/", json=org.grant("Development")),
            400,
            "Member has not set up their identity key yet. They must log in to the console first.",
        )
        pending = (
            "This member hasn't completed account setup yet — wait until they sign in for "
            "the first time before assigning a role with global access or service account "
            "token permissions."
        )
        error(owner.put(f"/v1/members/{scim}/", json={"role_id": org.roles["Admin"]}), 403, pending)
        error(
            owner.put(f"/v1/members/{scim}/", json={"role_id": org.roles["Manager"]}), 403, pending
        )
        assert (
            owner.put(f"/v1/members/{scim}/", json={"role_id": org.roles["Service"]}).status_code
            == 200
        )


def test_member_delete_is_soft_and_a_re_invite_gives_a_new_member(phase: Any, org: Org) -> None:
    dana = org.members["dana@acme.test"]
    with phase.owner() as owner:
        owner.put(f"/v1/members/{dana}/access/", json=org.grant("Development"))
        assert owner.delete(f"/v1/members/{dana}/").status_code == 204
        error(owner.get(f"/v1/members/{dana}/"), 404, "Member not found.")
        invite = owner.post(
            "/v1/members/invites/",
            json={"email": "dana@acme.test", "role_id": org.roles["Developer"]},
        )
        assert invite.status_code == 201
    accepted = phase.control("POST", f"invites/{invite.json()['id']}/accept/")
    assert accepted["email"] == "dana@acme.test" and accepted["member_id"] != dana
    with phase.owner() as owner:
        assert owner.get(f"/v1/members/{accepted['member_id']}/access/").json()["apps"] == []
        assert owner.get("/v1/members/invites/").json()["data"] == [
            i
            for i in owner.get("/v1/members/invites/").json()["data"]
            if i["inviteeEmail"] != "dana@acme.test"
        ]


def test_invite_rules(phase: Any, org: Org) -> None:
    dev = org.roles["Developer"]
    cases = [
        ({"role_id": dev}, 400, "Missing required field: email"),
        ({"email": "nope", "role_id": dev}, 400, "'nope' is not a valid email address."),
        ({"email": "a@acme.test"}, 400, "Missing required field: role_id"),
        ({"email": "a@acme.test", "role_id": "x"}, 404, "Role not found."),
        ({"email": "a@acme.test", "role_id": org.roles["Owner"]}, 400,
         "Members cannot be invited with the 'Owner' role."),
        ({"email": "a@acme.test", "role_id": org.roles["Manager"]}, 400,
         "Members cannot be invited with a role that allows creating service account tokens."),
        ({"email": "DANA@acme.test", "role_id": dev}, 409,
         "'dana@acme.test' is already a member of this organisation."),
        ({"email": "new.hire@acme.test", "role_id": dev}, 409,
         "An active invite already exists for 'new.hire@acme.test'."),
        ({"email": "a@acme.test", "role_id": dev, "apps": []}, 400,
         "The 'apps' field is not accepted when creating an invite. Use PUT "
         "/v1/members/<id>/access/ after the invitee accepts and completes their key ceremony."),
    ]  # fmt: skip
    with phase.owner() as owner:
        for body, status, message in cases:
            error(owner.post("/v1/members/invites/", json=body), status, message)
        error(owner.delete("/v1/members/invites/nope/"), 404, "Invite not found.")
        invite = owner.get("/v1/members/invites/").json()["data"][0]
        created = datetime.datetime.fromisoformat(invite["createdAt"])
        expires = datetime.datetime.fromisoformat(invite["expiresAt"])
        assert abs((expires - created) - datetime.timedelta(days=14)) < datetime.timedelta(
            minutes=1
        )


def test_access_put_replaces_everything_and_revokes_e2ee_apps(phase: Any, org: Org) -> None:
    """docs/phase-api.md#e2ee-revocation-hazard, #access-updates-replace-the-whole-set: an access
    PUT that leaves out an E2EE app revokes it and wipes its keys."""
    admin = org.members["admin@acme.test"]
    admin_pat = phase.pat("admin@acme.test")
    with phase.owner() as owner:
        error(
            owner.put(f"/v1/members/{admin}/access/", json={"apps": []}),
            403,
            "Access cannot be changed for members with a global access role.",
        )
        owner.put(f"/v1/members/{admin}/", json={"role_id": org.roles["Developer"]})
        before = {a["name"] for a in owner.get(f"/v1/members/{admin}/access/").json()["apps"]}
        assert before == {"legacy-api", "vault"}  # demotion leaves access in place
        put = owner.put(f"/v1/members/{admin}/access/", json=org.grant("Staging"))
        assert [a["name"] for a in put.json()["apps"]] == ["legacy-api"]
        assert [e["name"] for e in put.json()["apps"][0]["environments"]] == ["Staging"]
    with phase.client(admin_pat) as client:
        keys = client.get("/secrets/tokens/").json()["apps"]
        assert [(a["name"], len(a["environment_keys"])) for a in keys] == [("legacy-api", 1)]


def test_promotion_order_access_then_role(phase: Any, org: Org) -> None:
    dana = org.members["dana@acme.test"]
    with phase.owner() as owner:
        owner.put(f"/v1/members/{dana}/access/", json=org.grant("Development", "Production"))
        promoted = owner.put(f"/v1/members/{dana}/", json={"role_id": org.roles["Admin"]})
        assert promoted.json()["role"]["name"] == "Admin"
        error(
            owner.put(f"/v1/members/{dana}/access/", json=org.grant("Development")),
            403,
            "Access cannot be changed for members with a global access role.",
        )
        app = owner.post("/v1/apps/", json={"name": "after"}).json()
    with phase.client(phase.pat("dana@acme.test")) as new_admin:
        envs = new_admin.get("/v1/environments/", params={"app_id": app["id"]}).json()["data"]
        assert len(envs) == 3  # new apps include global-access members
        legacy = new_admin.get("/v1/environments/", params={"app_id": org.apps["legacy-api"]})
        assert [e["name"] for e in legacy.json()["data"]] == ["Development", "Production"]


def test_teams(phase: Any, org: Org) -> None:
    dana, dev = org.members["dana@acme.test"], org.members["dev@acme.test"]
    with phase.owner() as owner:
        error(
            owner.post("/v1/teams/", json={"name": "t", "is_scim_managed": False}),
            400,
            "The is_scim_managed flag is set automatically by the SCIM provisioning flow and "
            "cannot be set via this endpoint.",
        )
        made = owner.post("/v1/teams/", json={"name": "backend"})
        assert made.status_code == 201
        team = made.json()
        assert team["description"] == "" and team["isScimManaged"] is False and team["apps"] == []
        assert team["owner"] == {"id": org.members["owner@acme.test"], "email": "owner@acme.test"}
        assert [m["email"] for m in team["members"]] == ["owner@acme.test"]
        path = f"/v1/teams/{team['id']}/"
        error(
            owner.post(path + "members/", json={"member_ids": ["nope"]}),
            404,
            "Member(s) not found: nope.",
        )
        error(
            owner.post(path + "members/", json={"member_ids": []}),
            400,
            "'member_ids' must be a non-empty list.",
        )
        error(
            owner.post(path + "members/", json={"member_type": "robot", "member_ids": [dana]}),
            400,
            "'member_type' must be one of ['service_account', 'user'].",
        )
        owner.post(path + "members/", json={"member_ids": [dana, dev]})
        owner.put(f"/v1/members/{dana}/access/", json=org.grant("Development"))
        error(
            owner.put(
                path + "access/", json={"apps": [{"id": org.apps["vault"], "environments": ["x"]}]}
            ),
            400,
            "App 'vault' does not have SSE enabled. Only SSE apps can be granted to teams.",
        )
        scoped = owner.put(path + "access/", json=org.grant("Development", "Staging")).json()
        names = sorted(e["name"] for e in scoped["apps"][0]["environments"])
        assert names == ["Development", "Staging"]
    with phase.client(phase.pat("dev@acme.test")) as member:
        envs = member.get("/v1/environments/", params={"app_id": org.apps["legacy-api"]})
        assert [e["name"] for e in envs.json()["data"]] == ["Development", "Staging"]
        # team access does not add an individual app membership
        with phase.owner() as owner:
            assert owner.get(f"/v1/members/{dev}/access/").json()["apps"] == []
            owner.delete(f"/v1/teams/{team['id']}/members/{dev}/")
        error(
            member.get("/v1/environments/", params={"app_id": org.apps["legacy-api"]}),
            403,
            "User cannot access this app",
        )
    with phase.owner() as owner:
        assert owner.put(path + "access/", json={"apps": []}).json()["apps"] == []
        # the individual grant survives the team's revocation
        dana_envs = owner.get(f"/v1/members/{dana}/access/").json()["apps"][0]["environments"]
        assert [e["name"] for e in dana_envs] == ["Development"]
        bot = owner.post(
            "/v1/service-accounts/",
            json={"name": "team-bot", "role_id": org.roles["Service"], "team_id": team["id"]},
        ).json()
        error(
            owner.delete(f"{path}members/{bot['id']}/", params={"member_type": "service_account"}),
            409,
            "This service account is owned by the team and cannot be removed. Delete the "
            "service account or transfer it to the organisation level first.",
        )
        assert owner.delete(path).status_code == 204
        error(owner.get(path), 404, "Team not found.")
        error(owner.get(f"/v1/service-accounts/{bot['id']}/"), 404, "Service account not found.")
    with phase.client(phase.pat("dev@acme.test")) as outsider, phase.owner() as owner:
        other = owner.post("/v1/teams/", json={"name": "ops"}).json()
        error(outsider.get(f"/v1/teams/{other['id']}/"), 403, "You don't have access to this team.")
        assert [t["name"] for t in outsider.get("/v1/teams/").json()["data"]] == ["ops"]


def test_team_owned_service_accounts_are_visible_to_their_team_only(phase: Any, org: Org) -> None:
    dana = org.members["dana@acme.test"]
    with phase.owner() as owner:
        owner.put(f"/v1/members/{dana}/", json={"role_id": org.roles["Manager"]})
        team = owner.post("/v1/teams/", json={"name": "ops"}).json()
        bot = owner.post(
            "/v1/service-accounts/",
            json={"name": "ops-bot", "role_id": org.roles["Service"], "team_id": team["id"]},
        ).json()
        plain = owner.post(
            "/v1/service-accounts/", json={"name": "org-bot", "role_id": org.roles["Service"]}
        ).json()
    with phase.client(phase.pat("dana@acme.test")) as manager:
        names = {s["name"] for s in manager.get("/v1/service-accounts/").json()["data"]}
        assert names == {"org-bot"}
        error(manager.get(f"/v1/service-accounts/{bot['id']}/"), 404, "Service account not found.")
        error(
            manager.post(f"/v1/service-accounts/{plain['id']}/tokens/", json={"name": "t"}),
            404,
            "Service account not found.",
        )  # org-level SA: global callers only
        error(
            manager.post(
                "/v1/service-accounts/",
                json={"name": "x", "role_id": org.roles["Service"], "team_id": team["id"]},
            ),
            403,
            "You are not a member of this team.",
        )
        with phase.owner() as owner:
            owner.post(f"/v1/teams/{team['id']}/members/", json={"member_ids": [dana]})
        assert manager.get(f"/v1/service-accounts/{bot['id']}/").status_code == 200
        minted = manager.post(f"/v1/service-accounts/{bot['id']}/tokens/", json={"name": "t"})
        assert minted.status_code == 201


def test_secrets_update_and_delete(phase: Any, org: Org) -> None:
    params = {"app_id": org.apps["legacy-api"], "env": "staging"}
    with phase.owner() as owner:
        made = owner.post(
            "/v1/secrets/",
            params=params,
            json={"secrets": [{"key": "a", "value": "1"}, {"key": "b", "value": "2"}]},
        )
        assert [s["key"] for s in made.json()] == ["A", "B"]
        error(
            owner.post(
                "/v1/secrets/", params=params, json={"secrets": [{"key": "A", "value": ""}]}
            ),
            409,
            "Duplicate secret found",
        )
        error(
            owner.post("/v1/secrets/", params=params, json={"secrets": []}),
            400,
            "'secrets' must be a non-empty list.",
        )
        first, second = made.json()
        updated = owner.put(
            "/v1/secrets/",
            params=params,
            json={"secrets": [{"id": first["id"], "value": "one", "comment": "c"}]},
        )
        assert (updated.json()[0]["value"], updated.json()[0]["version"]) == ("one", 2)
        error(
            owner.put(
                "/v1/secrets/", params=params, json={"secrets": [{"id": first["id"], "key": "b"}]}
            ),
            409,
            "Duplicate secret found",
        )
        error(
            owner.put("/v1/secrets/", params=params, json={"secrets": [{"value": "x"}]}),
            400,
            "Secret ID not provided",
        )
        assert (
            owner.request(
                "DELETE", "/v1/secrets/", params=params, json={"secrets": [second["id"]]}
            ).status_code
            == 200
        )
        left = owner.get("/v1/secrets/", params=params | {"key": "a"}).json()
        assert [(s["key"], s["value"], s["comment"]) for s in left] == [("A", "one", "c")]
        assert owner.get("/v1/secrets/", params=params).json() == left
