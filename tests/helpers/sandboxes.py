"""Fixture bodies for a sandbox server and a client of it: ``yield from serve(factory)`` in a
(module- or session-scoped) fixture starts the server and stops it after; ``yield from
fresh(client)`` resets the sandbox before the test and closes the client after."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Protocol, TypeVar

import httpx

from reconciler.sandbox.host import AppServer

S = TypeVar("S", bound=AppServer)


class Client(Protocol):
    http: httpx.Client

    def reset(self) -> object: ...


C = TypeVar("C", bound=Client)


def serve(factory: Callable[[], S]) -> Iterator[S]:
    server = factory()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def fresh(client: C) -> Iterator[C]:
    client.reset()
    try:
        yield client
    finally:
        client.http.close()
