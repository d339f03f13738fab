"""In-memory provider: the full Provider protocol over a JSON file, used by engine tests.

It models a tiny organisation: ``groups``; ``members`` (creating one sends an invite, so a new
member is *pending* until accepted, like Phase invites); and ``items`` that belong to a group,
may have an owner member and may carry a write-only ``token``. The live system is a JSON file
(``connection.path``) so separate CLI processes see the same live state; ``path: ":memory:"``
keeps it in the process. The file stores only a sha256 of a token, never the token.

Like a server, the file is the truth: every read sees it as it is now, and every write is a
read-modify-write of that one object under an exclusive lock on ``<path>.lock`` (``flock``),
so two processes applying at once never lose each other's changes.

Spec section::

    memory:
      connection: {path: "${env:MEMORY_PATH}"}
      prune: [groups, items, members]
      protect: {members: [owner@acme.io]}
      groups:   {backend: {description: Backend services}}
      members:  {alice@acme.io: {role: developer}}
      items:    {api: {group: backend, owner: alice@acme.io, value: "1", token: "${env:T}"}}
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from reconciler.address import Address
from reconciler.errors import ProviderError, SpecError, SpecErrors
from reconciler.model.resource import JSON, Resource
from reconciler.model.state import State
from reconciler.plan.change import Action, Change
from reconciler.plan.plan import Violation
from reconciler.providers.base import (
    Capabilities,
    CompileContext,
    Compiled,
    Outcome,
    ProviderPlugin,
)
from reconciler.secrets.field import SecretField
from reconciler.state.store import StateStore

try:
    import fcntl
except ImportError:  # not POSIX (Windows): one process per live file, threads still locked
    fcntl = None  # type: ignore[assignment]

NAME = "memory"
KINDS = ("group", "member", "item")
COLLECTIONS = {"groups": "group", "members": "member", "items": "item"}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MemoryConnection(_Model):
    """Where the live state lives: a JSON file path, or ``:memory:``."""

    path: str


class GroupSpec(_Model):
    description: str = ""


class MemberSpec(_Model):
    role: str = "member"


class ItemSpec(_Model):
    group: str
    owner: str | None = None
    value: str = ""
    tags: list[str] = Field(default_factory=list)
    token: SecretField | None = None


class MemorySection(_Model):
    """The ``memory:`` section of a spec."""

    connection: MemoryConnection
    prune: list[str] = Field(default_factory=list)
    protect: dict[str, list[str]] = Field(default_factory=dict)
    groups: dict[str, GroupSpec] = Field(default_factory=dict)
    members: dict[str, MemberSpec] = Field(default_factory=dict)
    items: dict[str, ItemSpec] = Field(default_factory=dict)


def _addr(kind: str, name: str) -> Address:
    return Address(NAME, kind, name)


def compile_section(section: MemorySection, ctx: CompileContext) -> Compiled:
    """Desired resources of the section; dangling group/owner references are spec errors."""
    errors: list[SpecError] = []
    out: list[Resource] = []
    for name, g in section.groups.items():
        out.append(
            Resource(
                _addr("group", name),
                {"description": g.description.strip()},
                location=ctx.locate((NAME, "groups", name)),
            )
        )
    for email, m in section.members.items():
        out.append(
            Resource(
                _addr("member", email.lower()),
                {"role": m.role},
                location=ctx.locate((NAME, "members", email)),
            )
        )
    members = {e.lower() for e in section.members}  # once, not per item: large specs
    for name, it in section.items.items():
        deps = {_addr("group", it.group)}
        if it.group not in section.groups:
            errors.append(
                SpecError(f"unknown group {it.group!r}", ctx.locate((NAME, "items", name, "group")))
            )
        attrs: dict[str, JSON] = {
            "group": it.group,
            "owner": it.owner.lower() if it.owner else None,
            "value": it.value,
            "tags": sorted(set(it.tags)),
        }
        if it.owner is not None:
            deps.add(_addr("member", it.owner.lower()))
            if it.owner.lower() not in members:
                errors.append(
                    SpecError(
                        f"unknown member {it.owner!r}", ctx.locate((NAME, "items", name, "owner"))
                    )
                )
        sensitive: frozenset[str] = frozenset()
        secrets = {}
        if it.token is not None:
            attrs["token"] = None
            sensitive = frozenset({"token"})
            secrets = {"token": it.token}
        out.append(
            Resource(
                _addr("item", name),
                attrs,
                sensitive=sensitive,
                depends_on=frozenset(deps),
                location=ctx.locate((NAME, "items", name)),
                secrets=secrets,
            )
        )
    for i, coll in enumerate(section.prune):
        if coll not in COLLECTIONS:
            errors.append(
                SpecError(
                    f"unknown collection {coll!r} in prune (one of {', '.join(COLLECTIONS)})",
                    ctx.locate((NAME, "prune", i)),
                )
            )
    protect: set[Address] = set()
    for coll, names in section.protect.items():
        if coll not in COLLECTIONS:
            errors.append(
                SpecError(
                    f"unknown collection {coll!r} in protect", ctx.locate((NAME, "protect", coll))
                )
            )
            continue
        protect.update(
            _addr(COLLECTIONS[coll], n.lower() if coll == "members" else n) for n in names
        )
    if errors:
        raise SpecErrors(errors)
    return Compiled(
        resources=out,
        prune=frozenset(COLLECTIONS[c] for c in section.prune if c in COLLECTIONS),
        protect=frozenset(protect),
    )


Objects = dict[str, dict[str, Any]]


class LiveStore:
    """The memory system's live data: address -> {id, attributes, pending, token_sha256}.

    Thread-safe and process-safe: ``snapshot`` reads the file as it is now; ``update`` runs
    one write under the lock (threads) and an exclusive ``flock`` on ``<path>.lock``
    (processes), on the file's latest content, then replaces the file atomically. A copy read
    earlier is reused only while the file is unchanged (same inode, size and mtime), so a run
    of writes by one process does not parse the file again each time.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._objects: Objects = {}
        self._seen: tuple[int, int, int] | None = None  # (inode, size, mtime_ns) of _objects

    @property
    def objects(self) -> Objects:
        """The live objects as the file holds them now (the in-process copy for ``:memory:``)."""
        with self._lock:
            return self._load()

    def snapshot(self) -> Objects:
        """A deep copy of ``objects``."""
        with self._lock:
            copy: Objects = json.loads(json.dumps(self._load()))
            return copy

    def update(self, write: Callable[[Objects], Any]) -> Any:
        """Run ``write`` on the latest objects and save them; return what it returns."""
        with self._lock, self._file_lock():
            objects = self._load()
            result = write(objects)
            self._save(objects)
            return result

    @contextmanager
    def _file_lock(self) -> Iterator[None]:
        if self.path == ":memory:" or fcntl is None:
            yield
            return
        fd = os.open(self.path + ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # released when the descriptor is closed
            yield
        finally:
            os.close(fd)

    def _stat(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_size, st.st_mtime_ns)

    def _load(self) -> Objects:
        if self.path == ":memory:":
            return self._objects
        seen = self._stat()
        if seen != self._seen:
            # written atomically (rename), so a read never sees half a file
            text = Path(self.path).read_text("utf-8") if seen is not None else "{}"
            self._objects = json.loads(text).get("objects", {})
            self._seen = seen
        return self._objects

    def _save(self, objects: Objects) -> None:
        self._objects = objects
        if self.path == ":memory:":
            return
        tmp = Path(f"{self.path}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"objects": objects}, indent=1, sort_keys=True), "utf-8")
        tmp.replace(self.path)
        self._seen = self._stat()


class MemoryProvider:
    """The Provider protocol over a ``LiveStore``; reads and writes count as requests."""

    name = NAME
    capabilities = Capabilities(
        kinds=KINDS, collections=COLLECTIONS, pending_on_create=frozenset({"member"})
    )

    def __init__(self, live: LiveStore, fail: Mapping[str, str] | None = None) -> None:
        self.live = live
        # address -> message: apply of that address raises (lets tests exercise failure paths)
        self.fail = dict(fail or {})
        self._requests = 0

    def target(self) -> str:
        return f"memory:{self.live.path}"

    def read(self, desired: State, only: frozenset[Address] | None = None) -> State:
        self._requests += 1
        out = []
        for key, obj in sorted(self.live.snapshot().items()):
            address = Address.parse(key)
            if only is not None and address not in only:
                continue
            attrs = dict(obj["attributes"])
            deps = {_addr("group", attrs["group"])} if address.kind == "item" else set()
            if address.kind == "item" and attrs.get("owner"):
                deps.add(_addr("member", attrs["owner"]))
            sensitive = frozenset({"token"}) if "token" in attrs else frozenset()
            if sensitive:
                attrs["token"] = None  # write-only: the system never returns it
            out.append(
                Resource(
                    address,
                    attrs,
                    sensitive=sensitive,
                    depends_on=frozenset(deps),
                    id=obj["id"],
                    pending=obj.get("pending"),
                )
            )
        return State(out)

    def refine(self, changes: Sequence[Change], desired: State, live: State) -> list[Change]:
        return list(changes)

    def check(self, changes: Sequence[Change], desired: State, live: State) -> list[Violation]:
        return []

    def apply(self, change: Change) -> Outcome:
        key = str(change.address)
        if key in self.fail:
            raise ProviderError(change.address, self.fail[key])
        self._requests += 1
        attrs: dict[str, Any] = {}
        if change.desired is not None:
            attrs = dict(change.desired.attributes)
            if "token" in change.desired.sensitive:
                secret = change.desired.secrets.get("token")
                attrs["token"] = (
                    hashlib.sha256(secret.reveal().encode()).hexdigest() if secret else None
                )
        outcome: Outcome = self.live.update(lambda objs: _write(change, key, attrs, objs))
        return outcome

    def stats(self) -> dict[str, JSON]:
        return {"requests": self._requests}

    def close(self) -> None:
        return None


def _write(change: Change, key: str, attrs: dict[str, Any], objs: Objects) -> Outcome:
    """One change to the live objects (``LiveStore.update`` saves them)."""
    if change.action is Action.DELETE:
        objs.pop(key, None)
        return Outcome()
    if change.action is Action.CREATE:
        existing = objs.get(key)
        if existing is not None:  # idempotent retry: created by an earlier attempt
            existing["attributes"] = attrs
            return Outcome(server_id=existing["id"], pending=existing.get("pending"))
        pending = "invite not accepted" if change.address.kind == "member" else None
        server_id = uuid.uuid4().hex
        objs[key] = {"id": server_id, "attributes": attrs, "pending": pending}
        return Outcome(server_id=server_id, pending=pending)
    obj = objs.get(key)
    if obj is None:
        raise ProviderError(change.address, "not found")
    obj["attributes"] = {**obj["attributes"], **attrs}
    return Outcome(server_id=obj["id"])


def _open(section: MemorySection, store: StateStore) -> MemoryProvider:
    return MemoryProvider(LiveStore(section.connection.path))


def _export(provider: Any) -> dict[str, Any]:
    assert isinstance(provider, MemoryProvider)
    live = provider.read(State())
    out: dict[str, Any] = {"groups": {}, "members": {}, "items": {}}
    for r in live.resources():
        a = r.attributes
        if r.address.kind == "group":
            out["groups"][r.address.name] = {"description": a["description"]}
        elif r.address.kind == "member":
            out["members"][r.address.name] = {"role": a["role"]}
        else:
            item: dict[str, Any] = {"group": a["group"], "value": a["value"], "tags": a["tags"]}
            if a.get("owner"):
                item["owner"] = a["owner"]
            out["items"][r.address.name] = item
    return out


PLUGIN = ProviderPlugin(
    name=NAME,
    section=MemorySection,
    compile=compile_section,
    open=_open,
    export=_export,
)
