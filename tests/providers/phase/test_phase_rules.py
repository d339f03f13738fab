"""The provider's plan rules (refine, check) on hand-built states, and the order of its
requests on a mock transport: no sandbox, no network."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

import httpx
import pytest

from reconciler.address import Address
from reconciler.errors import ProviderError
from reconciler.model.resource import JSON, Resource
from reconciler.model.state import State
from reconciler.plan.build import build_plan
from reconciler.plan.change import Action, Change
from reconciler.plan.plan import Plan
from reconciler.plan.policy import Policy
from reconciler.providers.kit.labels import label_objects
from reconciler.providers.phase.provider import PhaseProvider
from reconciler.secrets.value import Secret

USER = "pss_user:v1:" + ":".join(["ab" * 32] * 4)
SERVICE = "pss_service:v2:" + ":".join(["ab" * 32] * 4)


def a(kind: str, name: str) -> Address:
    return Address("phase", kind, name)


def r(
    kind: str,
    label: str,
    /,
    deps: Iterable[Address] = (),
    id: str | None = None,
    meta: dict[str, JSON] | None = None,
    pending: str | None = None,
    **attrs: JSON,
) -> Resource:
    return Resource(
        a(kind, label),
        attrs,
        depends_on=frozenset(deps),
        id=id,
        meta=meta or {},
        pending=pending,
    )


class Recorder:
    """A mock Phase server: answers from ``routes`` (``"METHOD /path"`` -> JSON or callable),
    records every request as ``METHOD /path body``."""

    def __init__(self, routes: dict[str, Any] | None = None) -> None:
        self.routes = routes or {}
        self.calls: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/public")
        body = json.loads(request.content) if request.content else None
        self.calls.append(f"{request.method} {path}" + (f" {json.dumps(body)}" if body else ""))
        answer = self.routes.get(f"{request.method} {path}", {})
        if callable(answer):
            answer = answer(request)
        if isinstance(answer, httpx.Response):
            return answer
        return httpx.Response(200 if request.method != "DELETE" else 204, json=answer)


def provider(token: str = USER, server: Recorder | None = None) -> PhaseProvider:
    p = PhaseProvider(
        "https://phase.test/public",
        Secret(token),
        transport=httpx.MockTransport(server or Recorder()),
        sleep=lambda _s: None,
    )
    p._read_once = True
    idx = p.index
    idx.caller_email = "owner@acme.test"
    idx.caller_id = "m0"
    idx.roles = {n: f"role-{n}" for n in ("Owner", "Admin", "Manager", "Developer", "Service")}
    idx.apps = {"pay": "app-pay", "vault": "app-vault"}
    idx.app_sse = {"pay": True, "vault": False}
    idx.envs = {"pay/Dev": "env-dev", "pay/Prod": "env-prod", "vault/Dev": "env-vdev"}
    return p


def plan(p: PhaseProvider, desired: Iterable[Resource], live: Iterable[Resource]) -> Plan:
    return build_plan(
        State(desired),
        State(live),
        Policy(prune=frozenset({("phase", "environment"), ("phase", "role")})),
        spec_path="spec",
        spec_digest="0",
        hooks={"phase": p},
    )


def rules(result: Plan) -> list[tuple[str, str]]:
    return [(v.rule, ", ".join(str(x) for x in v.addresses)) for v in result.violations]


APPS = [
    r("app", "pay", id="app-pay", name="pay", description=None, sse=True),
    r("app", "vault", id="app-vault", name="vault", description=None, sse=False),
]


# -- check ----------------------------------------------------------------------------------


def test_an_access_update_for_a_holder_of_e2ee_access_is_refused_naming_both() -> None:
    live = r(
        "member",
        "dev@acme.test",
        id="m1",
        role="Developer",
        access={"pay": ["Dev"]},
        e2ee_access=["vault"],
    )
    want = r("member", "dev@acme.test", role="Developer", access={"pay": ["Dev", "Prod"]})
    result = plan(provider(), [*APPS, want], [*APPS, live])
    assert rules(result) == [("e2ee", "phase.member.dev@acme.test")]
    message = result.violations[0].message
    assert "end-to-end encrypted app 'vault'" in message and "revoke" in message
    # the same member with nothing to change: no access update, nothing refused
    same = r("member", "dev@acme.test", role="Developer", access={"pay": ["Dev"]})
    assert plan(provider(), [*APPS, same], [*APPS, live]).violations == ()


def test_grants_on_e2ee_apps_and_changes_to_their_environments_are_refused() -> None:
    want = r("service_account", "ci", role="Service", team=None, access={"vault": ["Dev"]})
    env = r("environment", "vault/Qa", deps=[a("app", "vault")], name="Qa")
    result = plan(provider(), [*APPS, want, env], APPS)
    assert rules(result) == [
        ("e2ee", "phase.environment.vault/Qa"),
        ("e2ee", "phase.service_account.ci"),
    ]
    created = r("app", "new", name="new", description=None, sse=False)
    assert rules(plan(provider(), [*APPS, created], APPS)) == [("e2ee", "phase.app.new")]


def test_the_owner_is_never_changed_and_nobody_is_made_owner() -> None:
    owner = r("member", "boss@acme.test", id="m0", role="Owner")
    result = plan(
        provider(),
        [r("member", "boss@acme.test", role="Admin"), r("member", "x@acme.test", role="Owner")],
        [owner],
    )
    assert rules(result) == [
        ("owner", "phase.member.boss@acme.test"),
        ("owner", "phase.member.x@acme.test"),
    ]


def test_the_applying_principal_never_changes_itself() -> None:
    me = r("member", "owner@acme.test", id="m0", role="Admin")
    result = plan(provider(), [r("member", "owner@acme.test", role="Developer", access={})], [me])
    assert ("self", "phase.member.owner@acme.test") in rules(result)
    p = provider(SERVICE)
    p.index.caller_sa = "robot"
    live = r("service_account", "robot", id="s1", role="Service", team=None, access={})
    result = plan(p, [], [live])  # not declared: left alone
    assert result.violations == ()
    p.index.caller_sa = "robot"
    want = r("service_account", "robot", role="Manager", team=None, access={})
    assert ("self", "phase.service_account.robot") in rules(plan(p, [want], [live]))


def test_what_a_service_account_token_cannot_do_is_refused_before_apply() -> None:
    p = provider(SERVICE)
    p.index.caller_sa = "robot"
    p.index.caller_email = None
    robot = r(
        "service_account",
        "robot",
        id="s1",
        role="Manager",
        team=None,
        access={"pay": ["Dev"]},
        meta={"access": {"pay": ["Dev"]}},
    )
    admin = r("member", "adm@acme.test", id="m2", role="Admin")
    dev = r("member", "dev@acme.test", id="m3", role="Developer", access={}, e2ee_access=[])
    other = r("service_account", "other", id="s2", role="Service", team=None, access={})
    result = plan(
        p,
        [
            robot,
            r("member", "adm@acme.test", role="Developer", access={}),
            r("member", "dev@acme.test", role="Admin"),
            r("service_account", "other", role="Service", team=None, access={"pay": ["Prod"]}),
            r(
                "sa_token",
                "other/t",
                deps=[a("service_account", "other")],
                store=None,
                expires_in=None,
                rotation="current",
            ),
        ],
        [*APPS, robot, admin, dev, other],
    )
    found = rules(result)
    assert ("sa_caller", "phase.member.adm@acme.test") in found  # touches an Admin
    assert ("sa_caller", "phase.member.dev@acme.test") in found  # assigns Admin
    assert ("sa_caller", "phase.service_account.other") in found  # grants pay/Prod it lacks
    assert ("sa_caller", "phase.sa_token.other/t") in found  # mints for another account
    assert all("Owner or Admin PAT" in v.message for v in result.violations)


def test_a_role_still_held_by_an_unmanaged_member_is_not_deleted() -> None:
    role = r("role", "Auditor", id="r1", name="Auditor")
    held = r("member", "x@acme.test", id="m9", role="Auditor")
    result = plan(provider(), [], [role, held])
    assert rules(result) == [("in_use", "phase.role.Auditor, phase.member.x@acme.test")]


def test_the_owning_team_of_a_service_account_is_immutable() -> None:
    live = r("service_account", "ci", id="s1", role="Service", team="a", access={})
    want = r("service_account", "ci", role="Service", team="b", access={})
    assert rules(plan(provider(), [want], [live])) == [("immutable", "phase.service_account.ci")]


# -- refine ---------------------------------------------------------------------------------


def test_service_accounts_get_their_access_again_after_a_new_environment() -> None:
    env = r("environment", "pay/Qa", deps=[a("app", "pay")], name="Qa")
    sa = r(
        "service_account",
        "ci",
        id="s1",
        role="Service",
        team=None,
        access={"pay": ["Dev"]},
        meta={"access": {"pay": ["Dev"]}},
    )
    want = r(
        "service_account",
        "ci",
        role="Service",
        team=None,
        access={"pay": ["Dev"]},
        meta={"access": {"pay": ["Dev"]}},
    )
    result = plan(provider(), [*APPS, env, want], [*APPS, sa])
    by = {c.address: c for c in result.changes}
    resend = by[a("service_account", "ci")]
    assert resend.action is Action.UPDATE and resend.details == {"resend_access": True}
    assert a("environment", "pay/Qa") in resend.depends_on
    order = [c.address for c in result.changes]
    assert order.index(a("environment", "pay/Qa")) < order.index(a("service_account", "ci"))


def test_children_of_undeclared_parents_are_left_to_the_cascade() -> None:
    env = r("environment", "old/Dev", id="e9", deps=[a("app", "old")], name="Dev")
    mine = r("environment", "pay/Tmp", id="e8", deps=[a("app", "pay")], name="Tmp")
    result = plan(provider(), APPS, [*APPS, env, mine])
    assert [(c.action.value, str(c.address)) for c in result.changes] == [
        ("delete", "phase.environment.pay/Tmp")
    ]
    assert "hard delete" in result.changes[0].warnings[0]


def test_an_invite_with_a_role_invites_cannot_carry_says_so() -> None:
    result = plan(provider(), [r("member", "m@acme.test", role="Manager", access={})], [])
    assert "invited as Developer" in result.changes[0].warnings[0]


# -- apply: request order -------------------------------------------------------------------


def change(action: Action, desired: Resource | None, live: Resource | None) -> Change:
    from reconciler.plan.diff import field_diffs

    diffs = field_diffs(desired, live) if desired and live else ()
    address = (desired or live).address  # type: ignore[union-attr]
    return Change(action, address, desired=desired, live=live, diffs=diffs)


def test_promotion_sends_access_first_then_the_role() -> None:
    server = Recorder()
    p = provider(server=server)
    live = r("member", "d@acme.test", id="m1", role="Developer", access={}, e2ee_access=[])
    p.apply(change(Action.UPDATE, r("member", "d@acme.test", role="Admin"), live))
    assert server.calls == [
        'PUT /v1/members/m1/access/ {"apps": [{"id": "app-pay", "environments": '
        '["env-dev", "env-prod"]}]}',
        'PUT /v1/members/m1/ {"role_id": "role-Admin"}',
    ]


def test_demotion_sends_the_role_first_then_the_access() -> None:
    server = Recorder()
    p = provider(server=server)
    live = r("member", "d@acme.test", id="m1", role="Admin")
    want = r(
        "member",
        "d@acme.test",
        role="Developer",
        access={"pay": ["Dev"]},
        meta={"access": {"pay": ["Dev"]}},
    )
    p.apply(change(Action.UPDATE, want, live))
    assert server.calls == [
        'PUT /v1/members/m1/ {"role_id": "role-Developer"}',
        'PUT /v1/members/m1/access/ {"apps": [{"id": "app-pay", "environments": ["env-dev"]}]}',
    ]


def test_demoting_an_admin_in_an_e2ee_app_is_refused_by_the_plan() -> None:
    """The access views of admins are read, so the plan sees what a demotion would revoke."""
    live = r("member", "d@acme.test", id="m1", role="Admin", access={"pay": ["Dev"]},
             e2ee_access=["vault"])  # fmt: skip
    want = r("member", "d@acme.test", role="Developer", access={"pay": ["Dev"]})
    result = plan(provider(), [*APPS, want], [*APPS, live])
    assert rules(result) == [("e2ee", "phase.member.d@acme.test")]
    assert "end-to-end encrypted app 'vault'" in result.violations[0].message


def test_apply_refuses_an_access_update_for_an_e2ee_holder_again() -> None:
    server = Recorder()
    p = provider(server=server)
    live = r("member", "d@acme.test", id="m1", role="Developer", access={}, e2ee_access=["vault"])
    want = r(
        "member",
        "d@acme.test",
        role="Developer",
        access={"pay": ["Dev"]},
        meta={"access": {"pay": ["Dev"]}},
    )
    with pytest.raises(ProviderError, match="vault"):
        p.apply(change(Action.UPDATE, want, live))
    assert server.calls == []


def test_an_invite_for_an_admin_is_sent_as_developer() -> None:
    server = Recorder({"POST /v1/members/invites/": {"id": "i1"}})
    p = provider(server=server)
    outcome = p.apply(change(Action.CREATE, r("member", "n@acme.test", role="Admin"), None))
    assert server.calls == [
        'POST /v1/members/invites/ {"email": "n@acme.test", "role_id": "role-Developer"}'
    ]
    assert outcome.pending is not None


def test_a_member_without_keys_is_pending_not_failed() -> None:
    server = Recorder(
        {
            "PUT /v1/members/m1/access/": httpx.Response(
                400, json={"error": "Member has not set up their identity key yet."}
            )
        }
    )
    p = provider(server=server)
    live = r("member", "d@acme.test", id="m1", role="Developer", access={}, e2ee_access=[])
    want = r(
        "member",
        "d@acme.test",
        role="Developer",
        access={"pay": ["Dev"]},
        meta={"access": {"pay": ["Dev"]}},
    )
    outcome = p.apply(change(Action.UPDATE, want, live))
    assert outcome.pending is not None and "later run" in outcome.pending


def test_a_lost_app_create_is_adopted_not_repeated() -> None:
    posts: list[int] = []

    def create(request: httpx.Request) -> httpx.Response:
        posts.append(1)
        raise httpx.ReadError("answer lost", request=request)

    server = Recorder(
        {
            "POST /v1/apps/": create,
            "GET /v1/apps/": {
                "data": [
                    {
                        "id": "app-new",
                        "name": "new",
                        "description": None,
                        "sseEnabled": True,
                        "createdAt": "2026-01-01T00:00:00Z",
                    }
                ]
            },
            "GET /v1/environments/": {"data": [{"id": "e1", "name": "Development"}]},
        }
    )
    p = provider(server=server)
    want = r(
        "app",
        "new",
        name="new",
        description=None,
        sse=True,
        meta={"environments": ["Development", "Staging", "Production"]},
    )
    outcome = p.apply(change(Action.CREATE, want, None))
    assert posts == [1] and outcome.server_id == "app-new"
    assert outcome.message == "adopted existing app"
    assert p.index.envs["new/Development"] == "e1"


def test_a_token_whose_answer_was_lost_is_deleted_and_minted_again() -> None:
    minted = {
        "id": "t2",
        "name": "deploy",
        "createdAt": "2026-01-01T00:00:00Z",
        "expiresAt": None,
        "token": SERVICE,
        "bearerToken": "ServiceAccount x",
    }
    answers: list[Any] = [httpx.ReadError, minted]
    tokens = [{"id": "t0", "name": "deploy", "createdAt": "2025-01-01T00:00:00Z"}]

    def post(request: httpx.Request) -> httpx.Response:
        answer = answers.pop(0)
        if answer is httpx.ReadError:
            tokens.append({"id": "t1", "name": "deploy", "createdAt": "2026-01-01T00:00:00Z"})
            raise httpx.ReadError("lost", request=request)
        return httpx.Response(201, json=answer)

    detail: Callable[[httpx.Request], dict[str, Any]] = lambda _r: {  # noqa: E731
        "id": "s1",
        "name": "ci",
        "role": None,
        "createdAt": "2025-01-01T00:00:00Z",
        "tokens": list(tokens),
        "apps": [],
    }
    server = Recorder(
        {
            "POST /v1/service-accounts/s1/tokens/": post,
            "GET /v1/service-accounts/s1/": detail,
        }
    )
    p = provider(server=server)
    p.index.sas = {"ci": "s1"}
    p.index.tokens = {"ci/deploy": "t0"}
    live = r("sa_token", "ci/deploy", id="t0", store=None, expires_in=None, rotation="due")
    want = r(
        "sa_token",
        "ci/deploy",
        store=None,
        expires_in=None,
        rotation="current",
        meta={"store": None, "expires_in": None, "rotate_after": 86400},
    )
    outcome = p.apply(change(Action.UPDATE, want, live))
    assert [c.split(" {")[0] for c in server.calls] == [
        "GET /v1/service-accounts/s1/",  # what exists before minting
        "POST /v1/service-accounts/s1/tokens/",  # answer lost
        "GET /v1/service-accounts/s1/",
        "DELETE /v1/service-accounts/s1/tokens/t1/",  # the orphan nobody holds
        "POST /v1/service-accounts/s1/tokens/",
        "DELETE /v1/service-accounts/s1/tokens/t0/",  # rotation: the old one, last
    ]
    assert outcome.server_id == "t2"
    assert SERVICE not in " ".join(server.calls)


# -- naming ---------------------------------------------------------------------------------


def test_live_names_pins_renames_and_duplicates() -> None:
    live = [("1", "pay"), ("2", "web"), ("3", "web"), ("4", "old"), ("5", "pay2")]
    wanted = {
        "pay": r("app", "pay"),
        "shop": r("app", "shop", meta={"previous_name": "old"}),
        "site": r("app", "site", id="3"),
    }
    labels = label_objects("app", live, wanted, lambda x: x.meta.get("previous_name"))  # type: ignore[arg-type,return-value]
    assert labels == {"1": "pay", "3": "site", "4": "shop", "2": "web", "5": "pay2"}
    with pytest.raises(ProviderError, match=r"2 live apps are named 'web' .*add id:"):
        label_objects("app", live, {"web": r("app", "web")})
    with pytest.raises(ProviderError, match="id '9' is not in the organisation"):
        label_objects("app", live, {"x": r("app", "x", id="9")})
    unmanaged = label_objects("team", [("abcdefgh1", "t"), ("zyxwvuts2", "t")], {})
    assert unmanaged == {"abcdefgh1": "t#abcdefgh", "zyxwvuts2": "t#zyxwvuts"}


def test_a_console_role_with_global_access_is_not_rewritten() -> None:
    live = r("role", "Ops", id="r1", meta={"global_access": True}, name="Ops", color="")
    result = plan(provider(), [r("role", "Ops", name="Ops", color="#000")], [live])
    assert rules(result) == [("global_role", "phase.role.Ops")]


# -- tokens: when a rotation is due ---------------------------------------------------------


def test_a_token_is_due_once_older_than_rotate_after_or_expired() -> None:
    import datetime

    from reconciler.providers.phase import payloads as pl
    from reconciler.providers.phase.live import Reader

    reader = Reader(None, State(), None)  # type: ignore[arg-type]
    now = reader.now

    def token(age_days: float, expires_in_days: float | None = None) -> pl.TokenInfo:
        created = now - datetime.timedelta(days=age_days)
        expires = created + datetime.timedelta(days=expires_in_days) if expires_in_days else None
        return pl.TokenInfo(id="t", name="deploy", created_at=created, expires_at=expires)

    want = r(
        "sa_token",
        "ci/deploy",
        store="file:x",
        expires_in=None,
        rotation="current",
        meta={"rotate_after": 90 * 86400},
    )
    address = a("sa_token", "ci/deploy")
    young = reader.token_attributes(address, token(10), want, None)
    assert young == {"store": "file:x", "expires_in": None, "rotation": "current"}
    assert reader.token_attributes(address, token(91), want, None)["rotation"] == "due"
    expired = reader.token_attributes(address, token(10, 5), None, None)
    assert expired["rotation"] == "due" and expired["expires_in"] == 5 * 86400
    # the state store says where this very token was stored
    stored = {"id": "t", "target": "secret:a/b:/K"}
    assert reader.token_attributes(address, token(1), want, stored)["store"] == "secret:a/b:/K"
    # ... or another one: this token's secret was never stored by us
    other = {"id": "older", "target": "file:x"}
    assert reader.token_attributes(address, token(1), want, other)["store"] is None
