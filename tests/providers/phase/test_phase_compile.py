"""compile: the ``phase:`` section -> desired resources, and its spec errors (no network)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from reconciler.address import Address
from reconciler.errors import SpecErrors
from reconciler.model.state import State
from reconciler.spec.load import load_spec

TOKEN = "pss_user:v1:" + ":".join(["ab" * 32] * 4)
ENV = {"PHASE_URL": "http://127.0.0.1:9", "PHASE_TOKEN": TOKEN, "PHASE_PASSWORD": "pw"}
HEAD = """\
version: 1
phase:
  connection:
    url: ${env:PHASE_URL}
    token: ${env:PHASE_TOKEN}
"""


def load(tmp_path: Path, body: str) -> State:
    path = tmp_path / "spec.yaml"
    path.write_text(HEAD + textwrap.indent(textwrap.dedent(body), "  "), encoding="utf-8")
    return load_spec(path, env=ENV).desired


def errors(tmp_path: Path, body: str) -> list[str]:
    with pytest.raises(SpecErrors) as info:
        load(tmp_path, body)
    return [str(e) for e in info.value.errors]


def a(kind: str, name: str) -> Address:
    return Address("phase", kind, name)


ORG = """\
roles:
  Auditor:
    description: "<b>Read</b> only "
    permissions: {Apps: [read, read]}
    app_permissions: {Secrets: [read]}
apps:
  payments:
    description: "  "
    environments: [Development, Staging, Production]
  checkout:
    previous_name: web-shop
    environments:
      - dev
      - {name: qa, previous_name: test}
      - {name: prod, id: env-prod}
service_accounts:
  ci:
    role: service
    access: {payments: [Production, Development]}
    tokens:
      deploy:
        store: {app: payments, environment: Production, key: ci_token}
        expires_in: 12h
        rotate_after: 90d
  bot:
    team: backend
members:
  Alice@Acme.test:
    role: developer
    access: {payments: [Development, Staging], checkout: [qa]}
  admin@acme.test:
    role: Admin
teams:
  backend:
    description: Backend
    member_role: Auditor
    members: [alice@acme.test]
    service_accounts: [ci]
    access: {payments: [Development]}
"""


def test_an_organisation_compiles_to_normalised_resources(tmp_path: Path) -> None:
    d = load(tmp_path, ORG)
    role = d[a("role", "Auditor")]
    assert role.attributes == {
        "name": "Auditor",
        "description": "Read only",
        "color": "",
        "permissions": {"Apps": ["read"]},
        "app_permissions": {"Secrets": ["read"]},
    }
    app = d[a("app", "payments")]
    assert app.attributes == {"name": "payments", "description": None, "sse": True}
    assert d[a("app", "checkout")].meta["previous_name"] == "web-shop"
    qa = d[a("environment", "checkout/qa")]
    assert qa.meta == {"app": "checkout", "index": 1, "previous_name": "test"}
    assert qa.depends_on == {a("app", "checkout")}
    assert d[a("environment", "checkout/prod")].id == "env-prod"


def test_access_leaves_out_what_teams_grant(tmp_path: Path) -> None:
    d = load(tmp_path, ORG)
    alice = d[a("member", "alice@acme.test")]  # e-mail lower-cased, role case fixed
    assert alice.attributes == {
        "role": "Developer",
        "access": {"checkout": ["qa"], "payments": ["Staging"]},
    }
    assert alice.meta["access"] == {
        "checkout": ["qa"],
        "payments": ["Development", "Staging"],
    }
    ci = d[a("service_account", "ci")]
    assert ci.attributes == {
        "name": "ci",
        "role": "Service",
        "team": None,
        "access": {"payments": ["Production"]},
    }
    assert a("environment", "payments/Production") in ci.depends_on
    admin = d[a("member", "admin@acme.test")]
    assert admin.attributes == {"role": "Admin"}  # global access: access is not managed


def test_owned_service_accounts_belong_to_their_team(tmp_path: Path) -> None:
    d = load(tmp_path, ORG)
    team = d[a("team", "backend")]
    assert team.attributes["service_accounts"] == ["bot", "ci"]
    assert team.meta["owned"] == ["bot"]
    bot = d[a("service_account", "bot")]
    assert bot.attributes["team"] == "backend"
    # the account needs its team first; the team does not wait for the account it owns
    assert a("team", "backend") in bot.depends_on
    assert a("service_account", "bot") not in team.depends_on
    assert a("service_account", "ci") in team.depends_on
    assert a("role", "Auditor") in team.depends_on


def test_tokens_carry_where_they_are_stored_and_durations(tmp_path: Path) -> None:
    d = load(tmp_path, ORG)
    token = d[a("sa_token", "ci/deploy")]
    assert token.attributes == {
        "store": "secret:payments/Production:/CI_TOKEN",
        "expires_in": 12 * 3600,
        "rotation": "current",
    }
    assert token.meta["rotate_after"] == 90 * 86400
    assert a("environment", "payments/Production") in token.depends_on


def test_dangling_references_are_located(tmp_path: Path) -> None:
    found = errors(
        tmp_path,
        """\
        apps:
          payments: {}
        service_accounts:
          ci:
            role: Nope
            team: ghosts
            access: {payments: [Prod], shop: [dev]}
        members:
          a@acme.test: {access: {payments: []}}
        teams:
          t:
            members: [b@acme.test]
            service_accounts: [nobody]
        """,
    )
    spec = str(tmp_path / "spec.yaml")
    assert found == [
        f"{spec}:10:7: unknown role 'Nope'",
        f"{spec}:11:7: unknown team 'ghosts'",
        f"{spec}:12:27: unknown environment 'Prod' of app 'payments'",
        f"{spec}:12:34: unknown app 'shop'",
        f"{spec}:14:28: app 'payments': list environments, or leave the app out",
        f"{spec}:17:17: unknown member 'b@acme.test'",
        f"{spec}:18:26: unknown service account 'nobody'",
    ]


def test_server_rules_are_spec_errors(tmp_path: Path) -> None:
    found = "\n".join(
        errors(
            tmp_path,
            """\
            roles:
              developer: {}
              Ops:
                permissions: {Apps: [fly], Wizards: [read]}
            apps:
              "<b>x</b>": {}
              a/b: {}
              shop:
                environments: [dev, DEV, "has space"]
              vault:
                sse: false
            service_accounts:
              root:
                role: Admin
                tokens:
                  t: {store: {app: vault, environment: Development, key: K}}
            members:
              boss@acme.test: {role: admin, access: {shop: [dev]}}
              not-an-email: {}
            """,
        )
    )
    assert "'developer' is a default role: it cannot be declared or changed" in found
    assert "Apps: unknown action 'fly'" in found
    assert "unknown permission class 'Wizards'" in found
    assert "app name '<b>x</b>' would be stored as 'x'" in found
    assert "app names must not contain '/'" in found
    assert "duplicate environment 'DEV' (names are case-insensitive)" in found
    assert "environment name 'has space' must be 1 to 64 letters" in found
    assert "service accounts cannot hold the global-access role 'Admin'" in found
    assert "app 'vault' is end-to-end encrypted: the API cannot write its secrets" in found
    assert "Admin members have access to every app; remove 'access'" in found
    assert "'not-an-email' is not an e-mail address" in found


def test_bad_durations_and_unknown_keys_are_schema_errors(tmp_path: Path) -> None:
    found = "\n".join(
        errors(
            tmp_path,
            """\
            apps:
              a:
                environments: [{name: x, renamed_from: y}]
            service_accounts:
              s:
                tokens:
                  t: {rotate_after: soon, expires_in_days: 3}
            """,
        )
    )
    assert "unknown key 'renamed_from'" in found
    assert "expected a duration such as 90d, 12h, 30m or 2w" in found
    assert "unknown key 'expires_in_days'" in found


def test_a_token_written_inline_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(HEAD.replace("${env:PHASE_TOKEN}", TOKEN), encoding="utf-8")
    with pytest.raises(SpecErrors) as info:
        load_spec(path, env=ENV)
    assert "secret values must not be written inline" in str(info.value)
    assert TOKEN not in str(info.value)


def test_prune_protect_and_password(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(
        HEAD
        + "    email: owner@acme.test\n    password: ${env:PHASE_PASSWORD}\n"
        + "  prune: [apps, tokens, members]\n  protect: {members: [Owner@Acme.test]}\n",
        encoding="utf-8",
    )
    spec = load_spec(path, env=ENV)
    assert ("phase", "app") in spec.policy.prune and ("phase", "sa_token") in spec.policy.prune
    assert a("member", "owner@acme.test") in spec.policy.protect
    found = errors(tmp_path, "prune: [everything]\nprotect: {people: [x]}\n")
    assert any("unknown collection 'everything' in prune" in e for e in found)
    assert any("unknown collection 'people' in protect" in e for e in found)
