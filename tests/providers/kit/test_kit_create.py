"""Idempotent create and write-only values."""

from __future__ import annotations

import pytest

from reconciler.address import Address
from reconciler.errors import ProviderError
from reconciler.model.resource import Resource
from reconciler.plan.change import Action, Change, FieldDiff
from reconciler.providers.kit.create import create_once
from reconciler.providers.kit.writeonly import (
    secret_fields,
    unknown_if_masked,
    without_placeholders,
)
from reconciler.secrets.value import Secret

A = Address("test", "thing", "a")


def test_ambiguous_failure_adopts_what_the_lookup_finds() -> None:
    posts: list[int] = []
    remembered: list[str] = []

    def post() -> str:
        posts.append(1)
        raise ProviderError(A, "POST /x/: HTTP 502", 502)

    made = create_once(post, lambda: "id-9", remember=remembered.append)
    assert made.value == "id-9" and made.adopted and posts == [1] and remembered == ["id-9"]


def test_nothing_found_posts_again_then_gives_up() -> None:
    posts: list[int] = []

    def post() -> str:
        posts.append(1)
        raise ProviderError(A, "no answer", None)

    with pytest.raises(ProviderError):
        create_once(post, lambda: None, attempts=3)
    assert len(posts) == 3


def test_clear_refusal_is_raised_without_lookup() -> None:
    looked: list[int] = []

    def post() -> str:
        raise ProviderError(A, "HTTP 400: name taken", 400)

    def lookup() -> str | None:
        looked.append(1)
        return None

    with pytest.raises(ProviderError, match="name taken"):
        create_once(post, lookup)
    assert looked == []


def test_secret_sent_only_when_created_or_changed() -> None:
    desired = Resource(
        A,
        {"token": "hmac-sha256:new", "url": "u"},
        sensitive=frozenset({"token"}),
        secrets={"token": Secret("pat-1")},
    )
    create = Change(Action.CREATE, A, desired=desired)
    assert secret_fields(create, ["token"]) == {"token": "pat-1"}
    other = Change(Action.UPDATE, A, desired=desired, diffs=(FieldDiff("url", "v", "u"),))
    assert secret_fields(other, ["token"]) == {}
    rotated = Change(
        Action.UPDATE, A, desired=desired, diffs=(FieldDiff("token", "hmac-a", "hmac-b", True),)
    )
    assert secret_fields(rotated, ["token"]) == {"token": "pat-1"}


def test_placeholder_is_unknown_and_never_sent() -> None:
    assert unknown_if_masked("write-only") is None
    assert unknown_if_masked("abc") == "abc"
    assert without_placeholders({"token": "write-only", "a": 1}) == {"a": 1}
