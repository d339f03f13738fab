"""cascade: what a Phase delete takes with it on the server (``Change.cascade``; pure).

From the delete side effects of docs/phase-api.md#deletes:

* an **app** (hard delete): its environments (live objects: counted by the delete limits),
  all their secrets (among them the service-account tokens ``store:`` writes there: "stored
  tokens", whose users lose them), and the grants of every member, service account and team
  holding it;
* an **environment** (hard delete): its secrets (and stored tokens) and the grants of the
  principals holding it;
* a **service account** (soft delete): its tokens (live objects);
* a **team** (soft delete): the service accounts it owns and their tokens (live objects), and
  the access its members and service accounts held through it.

Everything comes from the live state a plan's read already holds (environments, tokens, each
principal's access view, each team's detail): no request is added. Secrets are never listed
(their list endpoint decrypts every value, and E2EE ones cannot be read over REST at all), so
they are ``None``: "all secrets". A principal whose access was not read is not counted.
"""

from __future__ import annotations

from reconciler.address import Address
from reconciler.model.resource import Resource
from reconciler.model.state import State
from reconciler.plan.change import Action, Cascade, Change
from reconciler.providers.phase import normalise as n
from reconciler.providers.phase.compile import NAME
from reconciler.providers.phase.rules.common import grant_map, mapping, strings

GRANTEES = (
    ("member", "member grants"),
    ("service_account", "service account grants"),
    ("team", "team grants"),
)


def cascade_of(change: Change, live: State) -> Cascade:
    """The blast radius of a delete (an empty ``Cascade`` for anything else)."""
    if change.action is not Action.DELETE:
        return Cascade()
    kind, name = change.address.kind, change.address.name
    if kind == "app":
        envs = _children(live, "environment", name)
        counts: dict[str, int | None] = {"environments": len(envs)}
        if envs:
            counts["secrets"] = None
        counts["stored tokens"] = _stored(live, name, None)
        counts.update(_grants(live, name, None))
        return Cascade(tuple(envs), _nonzero(counts))
    if kind == "environment":
        app, env = n.split_key(name)
        counts = {"secrets": None, "stored tokens": _stored(live, app, env)}
        return Cascade((), _nonzero({**counts, **_grants(live, app, env)}))
    if kind == "service_account":
        tokens = _children(live, "sa_token", name)
        return Cascade(tuple(tokens), _nonzero({"service account tokens": len(tokens)}))
    if kind == "team" and change.live is not None:
        return _team(change.live, live)
    return Cascade()


def _children(live: State, kind: str, parent: str) -> list[Address]:
    """Live objects of ``kind`` named ``<parent>/<name>`` (environments, tokens)."""
    return sorted(
        r.address for r in live.of_kind(NAME, kind) if n.split_key(r.address.name)[0] == parent
    )


def _stored(live: State, app: str, env: str | None) -> int:
    """How many live tokens have their secret stored in ``app`` (or its environment ``env``):
    their ``store`` is ``secret:<app>/<env>:<path>/<KEY>`` (``compile.store_target``)."""
    count = 0
    for token in live.of_kind(NAME, "sa_token"):
        store = token.attributes.get("store")
        if not isinstance(store, str) or not store.startswith("secret:"):
            continue
        where = store.removeprefix("secret:").partition(":/")[0]
        held_app, held_env = n.split_key(where)
        count += held_app == app and env in (None, held_env)
    return count


def _grants(live: State, app: str, env: str | None) -> dict[str, int | None]:
    """How many principals of each kind hold ``app`` (or its environment ``env``)."""
    return {
        noun: sum(1 for r in live.of_kind(NAME, kind) if _holds(r, app, env))
        for kind, noun in GRANTEES
    }


def _holds(principal: Resource, app: str, env: str | None) -> bool:
    """Whether the live principal holds the app (or one of its environments). Its complete
    access is ``meta["access"]`` for members and service accounts (the attribute leaves out
    what teams grant); ``meta["apps"]`` and ``e2ee_access`` name apps held without a readable
    environment list (E2EE apps without a console login, apps with no keyed environment)."""
    access = grant_map(principal.meta.get("access", principal.attributes.get("access")))
    if env is not None:
        return env in access.get(app, [])
    listed = strings(principal.meta.get("apps")) + strings(principal.attributes.get("e2ee_access"))
    return app in access or app in listed


def _team(team: Resource, live: State) -> Cascade:
    owned = sorted(
        r.address
        for r in live.of_kind(NAME, "service_account")
        if r.attributes.get("team") == team.address.name
    )
    tokens = [t for sa in owned for t in _children(live, "sa_token", sa.name)]
    granted = bool(mapping(team.attributes.get("access")))
    counts: dict[str, int | None] = {
        "service accounts": len(owned),
        "service account tokens": len(tokens),
        "member grants": len(strings(team.attributes.get("members"))) if granted else 0,
        "service account grants": len(strings(team.attributes.get("service_accounts")))
        if granted
        else 0,
    }
    return Cascade(tuple(owned + tokens), _nonzero(counts))


def _nonzero(counts: dict[str, int | None]) -> dict[str, int | None]:
    return {k: v for k, v in counts.items() if v != 0}
