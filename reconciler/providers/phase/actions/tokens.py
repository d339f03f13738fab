"""Service-account tokens: minted and stored where the spec says, rotated (mint, store, then
delete the old one), deleted (docs/phase-api.md#secrets-shown-once).

A token's secret is shown once, in the mint answer: it is written to its ``store`` (a file, or
a secret of a Phase environment) at once, and the state store records which token was stored
where. ``minting`` is recorded before a mint and cleared once the secret is stored, so a run
that stops in between is noticed and the token minted again. A mint whose answer was lost may
have made a token whose secret nobody has: such tokens (this name, unknown before the mint) are
deleted, then it is minted again.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from reconciler.address import Address
from reconciler.errors import ProviderError
from reconciler.model.resource import JSON
from reconciler.plan.change import Change
from reconciler.providers.base import Outcome
from reconciler.providers.kit.answers import decode_as
from reconciler.providers.kit.create import ambiguous, create_once
from reconciler.providers.phase import normalise as n
from reconciler.providers.phase import payloads as p
from reconciler.providers.phase.actions.context import Handler, Work, live_id
from reconciler.providers.phase.client import SYSTEM
from reconciler.secrets.value import Secret

ATTEMPTS = 3


def _tokens_path(sa_id: str) -> str:
    return f"/v1/service-accounts/{sa_id}/tokens/"


def create(work: Work, change: Change) -> Outcome:
    a = change.address
    with work.lock:
        minted = work.minted.pop(a.name, None)
        initial_id = work.index.tokens.get(a.name)
    if minted is not None and initial_id is not None:  # minted with its service account
        _store(work, a, change.resource.meta.get("store"), minted)
        _stored(work, a, initial_id, change.resource.attributes.get("store"))
        return Outcome(server_id=initial_id, message="stored the initial token")
    return Outcome(server_id=_mint_and_store(work, change))


def update(work: Work, change: Change) -> Outcome:
    """Rotation: a new token is minted and stored, then the old one is deleted."""
    a = change.address
    with work.lock:  # a pending initial token is not this rotation's
        work.minted.pop(a.name, None)
    token_id = _mint_and_store(work, change)
    if change.live is None or not change.live.id:
        return Outcome(server_id=token_id)
    sa_id = work.id("sas", n.split_key(a.name)[0], a)
    work.client.request(
        "DELETE", f"{_tokens_path(sa_id)}{change.live.id}/", address=a, ok_missing=True
    )
    return Outcome(server_id=token_id, message="new token stored, old token deleted")


def delete(work: Work, change: Change) -> Outcome:
    with work.lock:
        sa_id = work.index.sas.get(n.split_key(change.address.name)[0])
    if sa_id is not None:  # else the account is gone, and its tokens with it
        path = f"{_tokens_path(sa_id)}{live_id(change)}/"
        work.client.request("DELETE", path, address=change.address, ok_missing=True)
    return Outcome()


def _mint_and_store(work: Work, change: Change) -> str:
    """Mint a token, store its secret, record where; returns the new token's id."""
    a = change.address
    meta = change.resource.meta
    sa_name, token_name = n.split_key(a.name)
    sa_id = work.id("sas", sa_name, a)
    work.record(a, "minting", True)
    made = _mint(work, a, sa_id, token_name, meta.get("expires_in"))
    _store(work, a, meta.get("store"), made.token)
    _stored(work, a, made.id, change.resource.attributes.get("store"))
    work.remember("tokens", a.name, made.id)
    return made.id


def _mint(
    work: Work, address: Address, sa_id: str, name: str, expires_in: JSON | None
) -> p.MintedToken:
    """POST a token (see the module docstring for a lost answer)."""
    body: dict[str, Any] = {"name": name}
    if isinstance(expires_in, int):
        body["expires_in"] = expires_in
    path = _tokens_path(sa_id)
    before = _token_ids(work, address, sa_id)
    for attempt in range(ATTEMPTS):
        try:
            return work.client.decoded(p.MintedToken, "POST", path, body=body, address=address)
        except ProviderError as exc:
            if not ambiguous(exc) or attempt == ATTEMPTS - 1:
                raise
            for token_id, token_name in _tokens_of(work, address, sa_id):
                if token_name == name and token_id not in before:
                    work.client.request(
                        "DELETE", f"{path}{token_id}/", address=address, ok_missing=True
                    )
    raise AssertionError("unreachable: the last attempt returns or raises")  # pragma: no cover


def _tokens_of(work: Work, address: Address, sa_id: str) -> list[tuple[str, str]]:
    path = f"/v1/service-accounts/{sa_id}/"
    detail = work.client.decoded(p.ServiceAccountDetail, "GET", path, address=address)
    return [(t.id, t.name) for t in detail.tokens]


def _token_ids(work: Work, address: Address, sa_id: str) -> set[str]:
    """Token ids known before a mint: the last read's, plus a fresh list of this account's."""
    with work.lock:
        known = set(work.index.tokens.values())
    return known | {token_id for token_id, _name in _tokens_of(work, address, sa_id)}


def _stored(work: Work, address: Address, token_id: str, target: JSON) -> None:
    work.record(address, "stored", {"id": token_id, "target": target})
    work.record(address, "minting", None)


def _store(work: Work, address: Address, store: JSON, secret: Secret) -> None:
    """Write a token secret where the spec says, never anywhere else."""
    if not isinstance(store, Mapping):
        return
    if "file" in store:
        _write_file(Path(str(store["file"])), secret)
        return
    _store_secret(work, address, store, secret)


def _write_file(path: Path, secret: Secret) -> None:
    """The secret alone on one line, in a file only its owner can read."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(secret.reveal() + "\n")
    os.chmod(path, 0o600)


def _store_secret(work: Work, address: Address, store: Mapping[str, JSON], secret: Secret) -> None:
    """A Phase secret ``key`` (at ``path``) of an SSE environment: created, or its value
    replaced when it exists (409 ``Duplicate secret found``, or after a lost answer)."""
    app_id = work.id("apps", str(store["app"]), address)
    params = {"app_id": app_id, "env": str(store["environment"])}
    key, path = str(store["key"]), str(store.get("path") or "/")
    item = {"key": key, "value": secret.reveal(), "path": path}
    want_path = "/" + path.strip().strip("/")

    def existing() -> str | None:
        found = work.client.request(
            "GET", "/v1/secrets/", params={**params, "key": key}, address=address
        )
        entries = decode_as(list[p.SecretEntry], found or [], address=address, system=SYSTEM)
        same = [s.id for s in entries if "/" + (s.path or "/").strip("/") == want_path]
        return same[0] if same else None

    def post() -> str | None:
        body = {"secrets": [item]}
        work.client.request("POST", "/v1/secrets/", params=params, body=body, address=address)
        return None

    try:
        made = create_once(post, existing)
    except ProviderError as exc:
        secret_id = existing() if exc.status == 409 else None
        if secret_id is None:
            raise
    else:
        if not made.adopted:
            return
        secret_id = made.value
    body = {"secrets": [{**item, "id": secret_id}]}
    work.client.request("PUT", "/v1/secrets/", params=params, body=body, address=address)


HANDLER = Handler(create=create, update=update, delete=delete)
