"""Payload models of the API's answers, from the recorded transcript's shapes."""

from __future__ import annotations

import pytest

from reconciler.errors import ProviderError
from reconciler.providers.kit.answers import decode, decode_as
from reconciler.providers.phase import payloads as p

APP = {
    "id": "3f33cc05",
    "name": "demo",
    "description": None,
    "sseEnabled": True,
    "createdAt": "2026-11-22T13:58:49.879024Z",
    "updatedAt": "2026-11-22T13:58:49.879032Z",
    "futureField": {"ignored": True},
}
TOKEN = "pss_service:v2:" + ":".join(["ab" * 32] * 4)


def test_camel_case_answers_and_unknown_keys_ignored() -> None:
    app = p.parse(p.App, APP, "phase.app.demo", "GET /v1/apps/")
    assert app.sse_enabled is True and app.description is None
    assert app.created_at.tzinfo is not None
    apps = p.parse_list(p.App, {"data": [APP, {**APP, "id": "x"}]}, "phase", "GET /v1/apps/")
    assert [a.id for a in apps] == ["3f33cc05", "x"]


def test_created_app_carries_its_environments() -> None:
    env = {
        "id": "e1",
        "name": "Development",
        "envType": "dev",
        "index": 0,
        "createdAt": APP["createdAt"],
        "updatedAt": APP["createdAt"],
    }
    made = p.parse(p.AppCreated, {**APP, "environments": [env]}, "a", "POST /v1/apps/")
    assert made.environments[0].env_type == "dev"


def test_a_missing_field_names_the_endpoint_and_field_not_the_value() -> None:
    bad = {**APP}
    del bad["sseEnabled"]
    bad["name"] = "secret-looking-value"
    with pytest.raises(ProviderError) as info:
        p.parse(p.App, bad, "phase.app.demo", "GET /v1/apps/")
    text = str(info.value)
    assert text.startswith("phase.app.demo: unexpected answer from GET /v1/apps/: sseEnabled")
    assert "secret-looking-value" not in text


def test_a_listing_needs_its_data_envelope() -> None:
    with pytest.raises(ProviderError, match=r"\(root\): Input should be a valid dictionary"):
        p.parse_list(p.App, [APP], "phase", "GET /v1/apps/")


def test_minted_token_is_a_secret_from_the_moment_it_is_parsed() -> None:
    answer = {
        "id": "t1",
        "name": "deploy",
        "createdAt": "2026-11-22T13:58:50.510839Z",
        "expiresAt": None,
        "token": TOKEN,
        "bearerToken": "ServiceAccount " + "ab" * 32,
    }
    made = p.parse(p.MintedToken, answer, "a", "POST tokens")
    assert made.token.reveal() == TOKEN
    assert TOKEN not in repr(made) and TOKEN not in str(made)
    created = p.parse(
        p.ServiceAccountCreated,
        {
            "id": "s",
            "name": "sa",
            "role": {"id": "r", "name": "Service"},
            "createdAt": answer["createdAt"],
            "initialToken": answer,
        },
        "a",
        "POST /v1/service-accounts/",
    )
    assert created.initial_token is not None and TOKEN not in repr(created)


def test_role_detail_of_a_console_role_with_global_access() -> None:
    detail = p.parse(
        p.RoleDetail,
        {
            "id": "r",
            "name": "Ops",
            "description": "",
            "color": "",
            "isDefault": False,
            "createdAt": APP["createdAt"],
            "permissions": {
                "permissions": {"Apps": ["read"]},
                "appPermissions": {},
                "globalAccess": True,
            },
        },
        "phase.role.Ops",
        "GET /v1/roles/{id}/",
    )
    assert detail.permissions.global_access is True
    assert detail.permissions.permissions == {"Apps": ["read"]}


def test_access_views_and_team_details() -> None:
    member = p.parse(
        p.MemberAccess,
        {
            "id": "m",
            "email": "Dev@Acme.test",
            "fullName": None,
            "role": {"id": "r", "name": "Developer"},
            "apps": [
                {
                    "id": "a",
                    "name": "x",
                    "environments": [{"id": "e", "name": "Development", "envType": "dev"}],
                }
            ],
        },
        "m",
        "GET access",
    )
    assert member.apps[0].environments[0].name == "Development"
    team = p.parse(
        p.TeamDetail,
        {
            "id": "t",
            "name": "backend",
            "description": "",
            "isScimManaged": False,
            "memberRole": None,
            "serviceAccountRole": {"id": "r", "name": "Service"},
            "owner": None,
            "members": [{"type": "service_account", "id": "s", "name": "ci"}],
            "apps": [],
        },
        "t",
        "GET team",
    )
    assert team.service_account_role is not None and team.members[0].name == "ci"


def test_the_keys_view_is_snake_case() -> None:
    keys = p.parse(
        p.KeysView,
        {
            "wrapped_key_share": "00",
            "account_id": "sa1",
            "offline_enabled": False,
            "organisation": {"id": "o", "name": "demo"},
            "apps": [
                {
                    "id": "a",
                    "name": "x",
                    "encryption": "E2E",
                    "environment_keys": [
                        {
                            "id": "k",
                            "environment": {
                                "id": "e",
                                "name": "Production",
                                "env_type": "prod",
                                "index": 2,
                            },
                        }
                    ],
                }
            ],
        },
        "phase",
        "GET /secrets/tokens/",
    )
    assert keys.user_id is None and keys.account_id == "sa1"
    assert keys.apps[0].environment_keys[0].environment.index == 2


def test_write_path_answers_require_what_apply_uses() -> None:
    made = decode(
        p.AppMade,
        {**APP, "environments": [{"id": "e1", "name": "Qa"}]},
        address="a",
        system="Phase",
    )
    assert made.id == "3f33cc05" and [e.name for e in made.environments] == ["Qa"]
    assert decode(p.Made, {"id": "i1"}, address="a", system="Phase").id == "i1"
    sa = decode(
        p.ServiceAccountMade,
        {
            "id": "s1",
            "initialToken": {
                "id": "t1",
                "name": "Default",
                "createdAt": APP["createdAt"],
                "token": TOKEN,
            },
        },
        address="phase.service_account.ci",
        system="Phase",
    )
    assert sa.initial_token is not None and TOKEN not in repr(sa)
    with pytest.raises(ProviderError) as info:
        decode(p.Named, {"data": []}, address="phase.app.x", system="Phase")
    assert (
        str(info.value)
        == "phase.app.x: unexpected answer from Phase (field 'id' missing; 1 more problem)"
    )


def test_a_listed_secret_keeps_its_id_key_and_path_never_its_value() -> None:
    listed = [{"id": "s1", "key": "CI_TOKEN", "value": TOKEN, "path": "/ci", "version": 2}]
    entries = decode_as(list[p.SecretEntry], listed, address="a", system="Phase")
    assert [(e.id, e.key, e.path) for e in entries] == [("s1", "CI_TOKEN", "/ci")]
    assert TOKEN not in repr(entries) and not hasattr(entries[0], "value")


def test_console_answers() -> None:
    answer = decode(
        p.GraphQLAnswer,
        {"errors": [{"message": "no", "path": ["x"]}], "data": None},
        address="a",
        system="Phase",
    )
    assert answer.errors is not None and answer.errors[0].message == "no" and answer.data is None
    made = decode(
        p.CreateEnvironment,
        {"createEnvironment": {"environment": {"id": "e9"}}},
        address="a",
        system="Phase",
    )
    assert made.create_environment.environment.id == "e9"
    orgs = decode(
        p.Organisations,
        {"organisations": [{"id": "o1", "name": "Acme", "memberId": "m0"}]},
        address="a",
        system="Phase",
    )
    assert orgs.organisations[0].member_id == "m0"
