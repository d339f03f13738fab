"""Members through the CLI: pruning cancels a pending invite or removes a member, and a plan
that would leave the organisation without an ADMIN is refused before anything runs."""

from __future__ import annotations

from flagsmith_org import Org


def test_pruning_members_cancels_invites_and_removes_users(org: Org) -> None:
    org.converge()
    org.accept("alice@acme.io")
    org.edit("flagsmith.yaml", "prune: [projects,", "prune: [members, projects,")
    org.edit("flagsmith.yaml", "    bob@acme.io: {role: USER, groups: [backend]}\n", "")
    org.converge()
    assert org.table("invites") == []  # bob's invite cancelled
    org.edit("flagsmith.yaml", "        users: {alice@acme.io: {admin: true}}\n", "")
    org.edit("flagsmith.yaml", "    alice@acme.io: {role: ADMIN}\n", "")
    org.converge()
    assert {u["email"] for u in org.api("GET", "/organisations/1/users/").json()} == {
        "owner@acme.io"
    }


def test_the_last_admin_is_kept(org: Org) -> None:
    org.edit("flagsmith.yaml", "  protect: {members: [owner@acme.io]}\n", "")
    org.edit(
        "flagsmith.yaml", "    owner@acme.io: {role: ADMIN}", "    owner@acme.io: {role: USER}"
    )
    result = org.run("plan", str(org.spec))
    assert result.exit_code == 1
    assert "flagsmith-last-admin" in result.output
    assert org.table("invites") == [] and org.table("projects") == []  # nothing ran
