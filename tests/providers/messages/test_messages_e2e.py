"""The Messages example end to end through the CLI against the sandbox: convergence, graded
drift, export, the provisioning upsert's rules, notes, refusals and modes of reading."""

from __future__ import annotations

import os
import stat

from messages_org import Org


def test_example_converges_and_its_export_plans_empty(org: Org) -> None:
    applied = org.converge()
    assert "one-time password written to secrets/alice.otp" in applied.output
    otp = org.tmp / "secrets" / "alice.otp"
    assert stat.S_IMODE(os.stat(otp).st_mode) == 0o600
    assert otp.read_text().strip() == org.ctl("GET", "passwords/")["alice@acme.fr"]
    row = org.stored("acme.fr")
    assert row["custom_attributes"] == {"siret": "12345678900011", "org_name": "Acme"}
    assert (row["oidc_autojoin"], row["identity_sync"]) == (True, True)
    assert org.admins("acme.fr") == ["alice@acme.fr"]
    out = org.tmp / "exported.yaml"
    assert org.run("export", "--provider", "messages", str(out)).exit_code == 0
    text = out.read_text()
    assert "# oidc_autojoin, identity_sync and custom_attributes cannot be read" in text
    replan = org.run("plan", str(out), "--detailed-exitcode")
    assert replan.exit_code == 0, replan.output


def test_out_of_band_changes_are_graded_and_unreadable_ones_never_false(org: Org) -> None:
    org.converge()
    org.changes(
        {"op": "rename_mailbox", "domain": "acme.fr", "local_part": "contact", "name": "Hi"},
        {"op": "delete_mailbox", "domain": "acme.fr", "local_part": "bob"},
        {"op": "add_admin", "domain": "acme.fr", "email": "carol@acme.fr"},
        {"op": "set_mailbox_access", "domain": "acme.fr", "local_part": "contact"}
        | {"email": "bob@acme.fr", "role": "viewer"},
        # nobody can read these: they must not show as a change
        {"op": "set_domain", "domain": "acme.fr", "custom_attributes": {"siret": "0"}},
    )
    found = org.drift()
    assert found["messages.mailbox.contact@acme.fr"][:2] == ("changed", "update")
    assert found["messages.mailbox_access.contact@acme.fr/bob@acme.fr"][:2] == ("changed", "update")
    assert found["messages.mailbox.bob@acme.fr"][:2] == ("missing", "create")
    assert found["messages.domain_admin.acme.fr/carol@acme.fr"][:2] == ("unmanaged", "delete")
    assert "messages.domain.acme.fr" not in found
    org.converge()
    assert org.admins("acme.fr") == ["alice@acme.fr"]


def test_unreadable_fields_are_graded_from_what_was_last_applied(org: Org) -> None:
    org.converge()
    org.edit("messages.yaml", "org_name: Acme}", 'org_name: "Acme SAS"}')
    grade, action, details = org.drift()["messages.domain.acme.fr"]
    assert (grade, action) == ("changed", "update")
    assert 'custom_attributes: "cannot be read (last applied: differs from spec)"' in details
    assert 'oidc_autojoin: "cannot be read (last applied: matches spec)"' in details
    org.converge()
    row = org.stored("acme.fr")
    assert row["custom_attributes"] == {"siret": "12345678900011", "org_name": "Acme SAS"}
    # the untouched fields survive: every provisioning call sends all three
    assert (row["oidc_autojoin"], row["identity_sync"]) == (True, True)
    # a domain that declares none of them keeps what the server has
    org.changes({"op": "set_domain", "domain": "acme-staging.fr", "oidc_autojoin": False})
    assert org.run("plan", str(org.spec), "--detailed-exitcode").exit_code == 0


def test_a_refused_domain_fails_alone(org: Org) -> None:
    org.changes({"op": "refuse_domain", "domain": "acme-staging.fr"})
    applied = org.run("apply", str(org.spec), "--auto-approve")
    assert applied.exit_code == 1
    assert "messages.domain.acme-staging.fr" in applied.output
    assert "Failed to provision domain." in applied.output
    assert org.stored("acme.fr")["custom_attributes"]["org_name"] == "Acme"
    assert org.admins("acme.fr") == ["alice@acme.fr"]


def test_a_domain_dropped_from_the_spec_is_a_note_not_a_change(org: Org) -> None:
    org.converge()
    org.edit("messages.yaml", "    acme-staging.fr: {}\n", "")
    plan = org.run("plan", str(org.spec), "--detailed-exitcode")
    assert plan.exit_code == 0, plan.output
    assert "delete by hand: the API has no delete" in plan.output
    grade, action, details = org.drift()["messages.domain.acme-staging.fr"]
    assert (grade, action) == ("unmanaged", "none")
    assert any("delete by hand" in d for d in details)


def test_admin_changes_are_refused_while_the_server_forbids_them(org: Org) -> None:
    org.converge()
    org.changes({"op": "set_flag", "name": "FEATURE_MAILDOMAIN_MANAGE_ACCESSES", "value": False})
    org.edit("messages.yaml", "admins: [alice@acme.fr]", "admins: [alice@acme.fr, dan@acme.fr]")
    planned = org.run("plan", str(org.spec))
    assert planned.exit_code == 1
    assert "FEATURE_MAILDOMAIN_MANAGE_ACCESSES is off" in planned.output
    assert "dan@acme.fr is not a user of the server yet" in planned.output
    applied = org.run("apply", str(org.spec), "--auto-approve")
    assert applied.exit_code == 1 and org.admins("acme.fr") == ["alice@acme.fr"]


def test_a_mailbox_type_never_changes(org: Org) -> None:
    org.converge()
    org.edit("messages.yaml", "          type: shared\n", "          type: personal\n")
    org.edit(
        "messages.yaml",
        "          name: Contact\n",
        "          first_name: C\n          last_name: T\n",
    )
    planned = org.run("plan", str(org.spec))
    assert planned.exit_code == 1 and "messages-mailbox-type" in planned.output


def test_personal_mailboxes_names_attributes_and_owner_role(org: Org) -> None:
    org.converge()
    box = next(
        b
        for b in org.admin("GET", f"maildomains/{org.stored('acme.fr')['id']}/mailboxes/")[
            "results"
        ]
        if b["local_part"] == "bob"
    )
    assert box["contact"]["name"] == "Bob Durand"
    assert [(a["user"]["email"], a["role"]) for a in box["accesses"]] == [("bob@acme.fr", "sender")]
    assert box["accesses"][0]["user"]["custom_attributes"] == {"employee_id": "7"}
    org.edit("messages.yaml", 'employee_id: "7"', 'employee_id: "8"')
    org.edit("messages.yaml", "last_name: Durand", "last_name: Durand-Petit")
    changed = org.drift()["messages.mailbox.bob@acme.fr"]
    assert changed[:2] == ("changed", "update")
    org.converge()
    names = {
        b["local_part"]: b["contact"]["name"]
        for b in org.admin("GET", f"maildomains/{org.stored('acme.fr')['id']}/mailboxes/")[
            "results"
        ]
    }
    assert names["bob"] == "Bob Durand-Petit"


def test_a_collection_a_domain_leaves_out_is_neither_read_nor_pruned(org: Org) -> None:
    org.converge()
    org.changes({"op": "add_admin", "domain": "acme-staging.fr", "email": "ops@acme.fr"})
    org.ctl("DELETE", "counters/")
    plan = org.run("plan", str(org.spec), "--detailed-exitcode")  # prune: [admins, ...]
    assert plan.exit_code == 0, plan.output
    counters = org.ctl("GET", "counters/")
    assert counters["GET /maildomains/{domain}/accesses/"] == 1  # acme.fr's only
    assert org.admins("acme-staging.fr") == ["ops@acme.fr"]


def test_a_pruned_mailbox_goes_with_its_accesses(org: Org) -> None:
    org.converge()
    text = (org.spec / "messages.yaml").read_text()
    start = text.index("        contact:\n")
    end = text.index("        alice:\n")
    (org.spec / "messages.yaml").write_text(text[:start] + text[end:])
    planned = org.plan_json()
    deleted = sorted(c["address"] for c in planned["changes"] if c["action"] == "delete")
    assert deleted == [
        "messages.mailbox.contact@acme.fr",
        "messages.mailbox_access.contact@acme.fr/alice@acme.fr",
        "messages.mailbox_access.contact@acme.fr/bob@acme.fr",
    ]
    applied = org.run("apply", str(org.spec), "--auto-approve", "--allow-deletes")
    assert applied.exit_code == 0, applied.output
    assert org.run("plan", str(org.spec), "--detailed-exitcode").exit_code == 0


def test_export_without_the_admin_token_writes_domains_only(org: Org) -> None:
    org.converge()
    org.monkeypatch.delenv("MESSAGES_ADMIN_TOKEN")
    out = org.tmp / "domains-only.yaml"
    assert org.run("export", "--provider", "messages", str(out)).exit_code == 0
    text = out.read_text()
    assert "admin_token" not in text and "mailboxes" not in text and "acme.fr" in text
    replan = org.run("plan", str(out), "--detailed-exitcode")
    assert replan.exit_code == 0, replan.output
