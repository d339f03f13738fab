"""Spec errors of the ``flagsmith:`` section (file:line:col, nothing contacted) and the pure
planning rules: the last-ADMIN guard, project deletes carrying their children, the one-time
"cannot verify" note."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.address import Address
from reconciler.errors import SpecErrors
from reconciler.model.resource import Resource
from reconciler.model.state import State
from reconciler.plan.change import Action, Change
from reconciler.providers.flagsmith import rules
from reconciler.spec.load import load_spec

HEAD = """\
version: 1
flagsmith:
  connection:
    url: https://flagsmith.example/api/v1
    api_key: ${env:KEY}
"""


def _errors(tmp_path: Path, body: str) -> list[str]:
    path = tmp_path / "spec.yaml"
    path.write_text(HEAD + body)
    with pytest.raises(SpecErrors) as info:
        load_spec(path, env={"KEY": "k" * 16, "T": "t" * 16})
    return [str(e) for e in info.value.errors]


def test_dangling_references_and_unknown_keys_point_at_their_line(tmp_path: Path) -> None:
    found = _errors(
        tmp_path,
        "  prune: [projects, widgets]\n"
        "  members:\n    a@acme.io: {groups: [nope]}\n"
        "  projects:\n    web:\n      environments: [Dev]\n"
        "      permissions:\n        users: {b@acme.io: {admin: true}}\n"
        "        groups: {}\n"
        "      environment_permissions:\n        Prod: {}\n"
        "  github:\n    installation_id: '1'\n    repositories:\n      acme/api: {project: api}\n",
    )
    assert any(":6:" in e and "unknown collection 'widgets'" in e for e in found), found
    assert any(":8:" in e and "group 'nope' is not declared" in e for e in found), found
    assert any("user 'b@acme.io' is not declared" in e for e in found), found
    assert any(":16:" in e and "environment 'Prod' is not declared" in e for e in found), found
    assert any(":20:" in e and "project 'api' is not declared" in e for e in found), found


def test_bad_permission_keys_and_inline_secrets_are_refused(tmp_path: Path) -> None:
    found = _errors(
        tmp_path,
        "  groups: {g: {}}\n  projects:\n    web:\n"
        "      permissions: {groups: {g: {permissions: [FLY]}}}\n",
    )
    assert any(":9:" in e and "unknown permission key 'FLY'" in e for e in found), found
    found = _errors(
        tmp_path,
        "  projects:\n    web:\n      integrations:\n"
        "        gitlab: {gitlab_instance_url: 'https://g', access_token: plain}\n",
    )
    assert any(":9:" in e and "must not be written inline" in e for e in found), found


def _member(email: str, role: str, pending: str | None = None) -> Resource:
    return Resource(Address("flagsmith", "member", email), {"role": role}, id="1", pending=pending)


def test_the_last_admin_is_never_removed_or_demoted() -> None:
    owner, alice = _member("o@acme.io", "ADMIN"), _member("a@acme.io", "USER")
    live = State([owner, alice, _member("p@acme.io", "ADMIN", pending="invited")])
    demote = Change(Action.UPDATE, owner.address, desired=_member("o@acme.io", "USER"), live=owner)
    remove = Change(Action.DELETE, owner.address, live=owner)
    for change in (demote, remove):
        [violation] = rules.check([change], State(), live)
        assert violation.rule == "flagsmith-last-admin"
    promote = Change(
        Action.UPDATE, alice.address, desired=_member("a@acme.io", "ADMIN"), live=alice
    )
    assert rules.check([demote, promote], State(), live) == []


def test_a_project_delete_carries_its_children_into_the_plan() -> None:
    project = Resource(Address("flagsmith", "project", "api"), id="1", meta={"project": "api"})
    env = Resource(Address("flagsmith", "environment", "api/Dev"), meta={"project": "api"})
    config = Resource(Address("flagsmith", "integration", "api/gitlab"), meta={"project": "api"})
    other = Resource(Address("flagsmith", "environment", "web/Dev"), meta={"project": "web"})
    live = State([project, env, config, other])
    out = rules.refine([Change(Action.DELETE, project.address, live=project)], State(), live)
    assert {c.address for c in out} == {project.address, env.address, config.address}
    assert all(c.action is Action.DELETE for c in out)
    assert out[0].cascade.objects == (env.address, config.address)


def test_an_adopted_secret_is_noted_once_as_cannot_verify() -> None:
    address = Address("flagsmith", "integration", "web/gitlab")
    resource = Resource(
        address, {"access_token": "hmac-sha256:x"}, sensitive=frozenset({"access_token"})
    )
    live = State([resource], {"flagsmith": {"adopted": [f"{address}:access_token"]}})
    [note] = rules.refine([], State([resource]), live)
    assert note.action is Action.DEFERRED and note.reason is not None
    assert note.reason.startswith("cannot verify: write-only access_token")
    assert rules.refine([], State([resource]), State([resource])) == []
