"""DeployCenter owns domain admins: a login sync reverts what the reconciler did, the spec
refuses to declare admins, and drift reports them as owned by DeployCenter."""

from __future__ import annotations

from messages_org import Org


def test_an_admin_reverted_by_deploycenter_is_owned_by_it(org: Org) -> None:
    org.edit("messages.yaml", "admins: [alice@acme.fr]", "admins: [alice@acme.fr, bob@acme.fr]")
    org.converge()
    assert org.admins("acme.fr") == ["alice@acme.fr", "bob@acme.fr"]
    # The server switches to DeployCenter, which entitles alice and carol, not bob; both log in.
    org.changes(
        {
            "op": "set_entitlements",
            "backend": "deploycenter",
            "users": {
                "alice@acme.fr": ["acme.fr"],
                "bob@acme.fr": [],
                "carol@acme.fr": ["acme.fr"],
            },
        }
    )
    for who in ("bob@acme.fr", "carol@acme.fr"):
        org.ctl("POST", "login/", {"email": who})
    assert org.admins("acme.fr") == ["alice@acme.fr", "carol@acme.fr"]  # bob's grant reverted

    # With entitlements: local the spec would fight DeployCenter: the drift shows it.
    found = org.drift()
    assert found["messages.domain_admin.acme.fr/bob@acme.fr"][:2] == ("missing", "create")

    # Declared as DeployCenter's, admins are refused at their line...
    org.edit("messages.yaml", "  entitlements: local\n", "  entitlements: deploycenter\n")
    org.edit(
        "messages.yaml",
        "prune: [admins, mailboxes, mailbox_access]",
        "prune: [mailboxes, mailbox_access]",
    )
    refused = org.run("validate", str(org.spec))
    assert refused.exit_code == 1
    line = next(
        i + 1
        for i, text in enumerate((org.spec / "messages.yaml").read_text().splitlines())
        if "admins: [alice@acme.fr, bob@acme.fr]" in text
    )
    assert f"messages.yaml:{line}:" in refused.output
    assert "DeployCenter owns domain admins" in refused.output

    # ...and once left out, every live admin is reported as owned by DeployCenter, not drift.
    org.edit("messages.yaml", "      admins: [alice@acme.fr, bob@acme.fr]\n", "")
    plan = org.run("plan", str(org.spec), "--detailed-exitcode")
    assert plan.exit_code == 0, plan.output
    found = org.drift()
    for who in ("alice@acme.fr", "carol@acme.fr"):
        grade, action, details = found[f"messages.domain_admin.acme.fr/{who}"]
        assert (grade, action) == ("unmanaged", "none")
        assert any("owned by DeployCenter" in d for d in details)
    assert "messages.domain_admin.acme.fr/bob@acme.fr" not in found
