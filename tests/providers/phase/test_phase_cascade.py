"""What a Phase delete takes with it (``Change.cascade``): pure, on hand-made live states, and
end to end against the sandbox, where the delete limits count an app's environments."""

from __future__ import annotations

import json

from phase_org import Org

from reconciler.address import Address
from reconciler.model.resource import JSON, Resource
from reconciler.model.state import State
from reconciler.plan.build import build_plan
from reconciler.plan.change import Action, Cascade, Change
from reconciler.plan.policy import Policy, SafetyLimits
from reconciler.providers.phase import rules
from reconciler.providers.phase.rules.cascade import cascade_of


def a(kind: str, name: str) -> Address:
    return Address("phase", kind, name)


def r(kind: str, label: str, /, meta: dict[str, JSON] | None = None, **attrs: JSON) -> Resource:
    return Resource(a(kind, label), attrs, id=f"id-{label}", meta=meta or {})


def gone(resource: Resource) -> Change:
    return Change(Action.DELETE, resource.address, live=resource)


ORG = [
    r("app", "pay", sse=True),
    r("app", "vault", sse=False),
    r("environment", "pay/Dev"),
    r("environment", "pay/Prod"),
    r("environment", "vault/Prod"),
    # the complete access is meta["access"] (the attribute leaves out what teams grant)
    r("member", "dev@acme.test", meta={"access": {"pay": ["Dev"]}}, access={}),
    r("member", "ops@acme.test", meta={"access": {"pay": ["Dev", "Prod"]}}, access={}),
    r("member", "sec@acme.test", meta={"access": {}, "apps": ["vault"]}, e2ee_access=["vault"]),
    r("member", "new@acme.test", access={}),  # an invite: no access
    r("service_account", "ci", meta={"access": {"pay": ["Prod"]}}, team=None),
    r("service_account", "bot", meta={"access": {}}, team="platform"),
    r("sa_token", "ci/deploy", store="secret:pay/Prod:/ci/CI_TOKEN"),  # written there by apply
    r("sa_token", "ci/deploy#12345678"),
    r("sa_token", "bot/main"),
    r(
        "team",
        "platform",
        members=["dev@acme.test"],
        service_accounts=["bot"],
        access={"pay": ["Dev"]},
    ),
]
LIVE = State(ORG)


def by_label(kind: str, label: str) -> Resource:
    return LIVE[a(kind, label)]


def test_an_app_takes_its_environments_their_secrets_and_every_grant_on_it() -> None:
    cascade = cascade_of(gone(by_label("app", "pay")), LIVE)
    assert cascade.objects == (a("environment", "pay/Dev"), a("environment", "pay/Prod"))
    assert cascade.counts == {
        "environments": 2,
        "secrets": None,  # never listed: the list decrypts every value
        "stored tokens": 1,
        "member grants": 2,
        "service account grants": 1,
        "team grants": 1,
    }
    # an E2EE app held without a readable environment list still counts its holder
    vault = cascade_of(gone(by_label("app", "vault")), LIVE)
    assert vault.counts == {"environments": 1, "secrets": None, "member grants": 1}


def test_an_environment_a_service_account_and_a_team() -> None:
    env = cascade_of(gone(by_label("environment", "pay/Prod")), LIVE)
    assert env == Cascade(
        (),
        {"secrets": None, "stored tokens": 1, "member grants": 1, "service account grants": 1},
    )
    dev = cascade_of(gone(by_label("environment", "pay/Dev")), LIVE)
    assert dev.counts == {"secrets": None, "member grants": 2, "team grants": 1}
    sa = cascade_of(gone(by_label("service_account", "ci")), LIVE)
    assert sa.objects == (a("sa_token", "ci/deploy"), a("sa_token", "ci/deploy#12345678"))
    assert sa.counts == {"service account tokens": 2}
    team = cascade_of(gone(by_label("team", "platform")), LIVE)
    assert team.objects == (a("service_account", "bot"), a("sa_token", "bot/main"))
    assert team.counts == {
        "service accounts": 1,
        "service account tokens": 1,
        "member grants": 1,
        "service account grants": 1,
    }
    # a member (soft delete: keys and PATs are not wiped) and anything not a delete: nothing
    assert not cascade_of(gone(by_label("member", "dev@acme.test")), LIVE)
    update = Change(
        Action.UPDATE, a("app", "pay"), desired=by_label("app", "pay"), live=by_label("app", "pay")
    )
    assert not cascade_of(update, LIVE)


def test_refine_drops_the_server_side_deletes_and_the_limits_still_count_them() -> None:
    desired = State([by_label("app", "vault"), by_label("environment", "vault/Prod")])
    policy = Policy(
        prune=frozenset({("phase", "app"), ("phase", "environment")}),
        limits=SafetyLimits(max_deletes=2, max_delete_share=1.0),
    )
    plan = build_plan(
        desired, State([x for x in ORG if x.address.kind in ("app", "environment")]), policy,
        spec_path="s", spec_digest="0" * 64, hooks={"phase": _Hooks()},
    )  # fmt: skip
    assert [(c.action, str(c.address)) for c in plan.changes] == [(Action.DELETE, "phase.app.pay")]
    [violation] = plan.violations
    assert violation.rule == "max_deletes"
    assert "plan deletes 3 objects (1 deletes and 2 objects deleted with them)" in violation.message


class _Caps:
    pending_on_create = frozenset({"member"})


class _Hooks:
    capabilities = _Caps()

    def refine(self, changes: list[Change], desired: State, live: State) -> list[Change]:
        return rules.refine(changes, desired, live)

    def check(self, changes: list[Change], desired: State, live: State) -> list[object]:
        return []


def test_deleting_three_apps_with_seven_environments_is_refused_by_max_deletes(org: Org) -> None:
    out = org.tmp / "adopted" / "phase.yaml"
    assert org.run("export", "--provider", "phase", str(out)).exit_code == 0
    text = out.read_text()
    assert "\nphase:\n  connection:\n" in text
    text = text.replace("version: 1\n", "version: 1\nsafety: {max_deletes: 5}\n", 1)
    out.write_text(text.replace("\nphase:\n", "\nphase:\n  prune: [apps]\n", 1))
    with org.phase.owner() as owner:
        for name, envs in (("one", ["A", "B", "C"]), ("two", ["A", "B"]), ("three", ["A", "B"])):
            made = owner.post("/v1/apps/", json={"name": name, "environments": envs})
            assert made.status_code == 201, made.text
    planned = org.run("plan", str(out.parent), "--format", "json")
    assert planned.exit_code == 1, planned.output
    plan = json.loads(planned.stdout)
    [violation] = plan["violations"]
    assert violation["rule"] == "max_deletes"
    assert violation["addresses"] == ["phase.app.one", "phase.app.three", "phase.app.two"]
    assert violation["message"].startswith(
        "plan deletes 10 objects (3 deletes and 7 objects deleted with them), more than "
        "max_deletes (5)"
    )
    deletes = {c["address"]: c["cascade"] for c in plan["changes"] if c["action"] == "delete"}
    assert set(deletes) == {"phase.app.one", "phase.app.two", "phase.app.three"}
    # the server adds the Owner and Admin members to every new app
    assert deletes["phase.app.one"]["counts"] == {
        "environments": 3,
        "secrets": None,
        "member grants": 2,
    }
    assert len(deletes["phase.app.two"]["objects"]) == 2
    text_plan = org.run("plan", str(out.parent))
    assert "- phase.app.one (with 3 environments, all secrets, 2 member grants)" in text_plan.stdout
    assert "plan deletes 10 objects" in text_plan.stderr
    applied = org.run("apply", str(out.parent), "--auto-approve", "--allow-deletes")
    assert applied.exit_code == 0, applied.output
    assert org.run("plan", str(out.parent), "--detailed-exitcode").exit_code == 0
