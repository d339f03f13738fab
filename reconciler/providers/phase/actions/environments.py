"""Environments: through REST for SSE apps, through the console for E2EE apps (REST refuses
them, docs/phase-api.md#environments).

An environment made with its app is already known (``apps.create`` remembered it). A REST create
whose answer is lost, or refused with 400 (the server's answer to a duplicate name, which may be
this very environment made by a lost POST), is looked up by name (case ignored, as the server
compares) and adopted. An E2EE environment is made as the console makes one: a fresh key,
wrapped for the owner (the environment's own copy) and every other global-access member with an
identity key; after a lost answer it is found among the applier's key rows.
"""

from __future__ import annotations

from reconciler.errors import ProviderError
from reconciler.plan.change import Change
from reconciler.providers.base import Outcome
from reconciler.providers.kit.create import ambiguous, create_once
from reconciler.providers.phase import normalise as n
from reconciler.providers.phase import payloads as p
from reconciler.providers.phase.actions.context import Handler, Work, live_id
from reconciler.providers.phase.console import Console
from reconciler.providers.phase.e2ee import HeldKey


def _app_of(change: Change) -> str:
    return n.split_key(change.address.name)[0]


def _console(work: Work, change: Change) -> Console | None:
    """The console, for an environment of an E2EE app (``check`` refused the work when there
    is none; the REST API would refuse it too)."""
    return work.console if _app_of(change) in work.live_e2ee() else None


def create(work: Work, change: Change) -> Outcome:
    a = change.address
    app = _app_of(change)
    name = str(change.resource.attributes["name"])
    with work.lock:
        known = work.index.envs.get(a.name)
    if known is not None:  # created with its app, in the same request
        return Outcome(server_id=known)
    app_id = work.id("apps", app, a)
    if app in work.live_e2ee():
        return _create_e2ee(work, change, app_id, name)

    def lookup() -> p.Made | None:
        params = {"app_id": app_id}
        return work.find("/v1/environments/", name, a, fold=True, params=params)

    def post() -> p.Made:
        return work.client.decoded(
            p.Made, "POST", "/v1/environments/", params={"app_id": app_id},
            body={"name": name}, address=a,
        )  # fmt: skip

    try:
        env_id = create_once(post, lookup).value.id
    except ProviderError as exc:
        found = lookup() if exc.status == 400 else None  # a duplicate name is a 400 here
        if found is None:
            raise
        env_id = found.id
    work.remember("envs", a.name, env_id)
    return Outcome(server_id=env_id)


def update(work: Work, change: Change) -> Outcome:
    a = change.address
    env_id = live_id(change)
    name = str(change.resource.attributes["name"])
    console = _console(work, change)
    if console is not None:
        console.rename_environment(env_id, name, a)
    else:
        work.client.request("PUT", f"/v1/environments/{env_id}/", body={"name": name}, address=a)
    return Outcome(server_id=env_id)


def delete(work: Work, change: Change) -> Outcome:
    console = _console(work, change)
    if console is None:
        return work.delete(change, "environments")
    console.delete_environment(live_id(change), change.address)
    return Outcome()


def _recipients(work: Work, change: Change) -> tuple[str, dict[str, str]]:
    """The owner's member id, and the identity key of every global-access member who has one
    (the owner included): whom a new E2EE environment's key is wrapped for."""
    ids = work.identities()
    owners = [m for m, role in ids.roles.items() if role == "Owner" and ids.members.get(m)]
    if not owners:
        raise ProviderError(
            change.address, "the organisation owner has no identity key to wrap for"
        )
    with work.lock:
        global_roles = set(work.index.global_roles)
    recipients = {
        m: str(ids.members[m])
        for m, role in ids.roles.items()
        if n.is_global(role, global_roles) and ids.members.get(m)
    }
    return owners[0], recipients


def _create_e2ee(work: Work, change: Change, app_id: str, name: str) -> Outcome:
    """A new environment of an E2EE app (see the module docstring)."""
    a = change.address
    assert work.console is not None, "check refuses E2EE environment work without a console"
    owner, recipients = _recipients(work, change)
    public, wrapped = work.keys().new_environment(recipients)
    env_input = {
        "appId": app_id,
        "name": name,
        "envType": "custom",
        "wrappedSeed": wrapped[owner][0],
        "wrappedSalt": wrapped[owner][1],
        "identityKey": public,
    }
    admin_keys = [
        {"envId": "", "userId": m, "identityKey": public, "wrappedSeed": seed, "wrappedSalt": salt}
        for m, (seed, salt) in sorted(wrapped.items())
        if m != owner
    ]
    try:
        env_id = work.console.create_environment(env_input, admin_keys, a)
    except ProviderError as exc:
        # The answer may be lost after the environment was made: adopt it by name (its key,
        # wrapped for the applier, is then in the applier's key rows).
        found = _find_held(work, app_id, name, a.name) if ambiguous(exc) else None
        if found is None:
            raise
        return Outcome(server_id=found, message="adopted existing environment")
    with work.lock:
        work.index.envs[a.name] = env_id
        mine = wrapped.get(work.index.caller_id)
        if mine is not None:  # the applier can grant it later in this run
            work.index.held[a.name] = HeldKey(public, mine[0], mine[1])
    return Outcome(server_id=env_id)


def _find_held(work: Work, app_id: str, name: str, label: str) -> str | None:
    """The id of the environment ``name`` of ``app_id`` among the applier's key rows
    (``/secrets/tokens/``, which lists E2EE apps too); found, it is remembered as ``label``
    with its key row."""
    keys = work.read_keys()
    for app in keys.apps:
        for row in app.environment_keys if app.id == app_id else ():
            if row.environment.name.lower() == name.lower():
                work.remember("envs", label, row.environment.id)
                work.refresh_held(keys)
                return row.environment.id
    return None


HANDLER = Handler(create=create, update=update, delete=delete)
