"""The memory provider's live file shared by processes: two processes that opened it at the same
time and then apply interleaved creates, updates and deletes lose none of each other's changes
(each write re-reads the file under an exclusive lock)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from reconciler.address import Address
from reconciler.model.resource import Resource
from reconciler.plan.change import Action, Change
from reconciler.providers.memory import LiveStore, MemoryProvider

# One process: open the live file (the session's read), wait for the start signal, then apply
# creates of its own groups, deletes of its own seed groups and updates of a shared one.
CHILD = """
import sys, time
from pathlib import Path
from reconciler.address import Address
from reconciler.model.resource import Resource
from reconciler.model.state import State
from reconciler.plan.change import Action, Change
from reconciler.providers.memory import LiveStore, MemoryProvider

path, prefix, seeds, go = sys.argv[1], sys.argv[2], sys.argv[3].split(","), Path(sys.argv[4])
provider = MemoryProvider(LiveStore(path))
live = provider.read(State())
assert len(live) == 11, len(live)
Path(path + "." + prefix + ".ready").touch()
while not go.exists():
    time.sleep(0.005)
def group(name):
    return Address("memory", "group", name)
for i in range(40):
    a = group(f"{prefix}{i}")
    provider.apply(Change(Action.CREATE, a, desired=Resource(a, {"description": prefix})))
    if i < len(seeds):
        old = live[group(seeds[i])]
        provider.apply(Change(Action.DELETE, old.address, live=old))
    shared = live[group("shared")]
    desired = Resource(shared.address, {"description": f"{prefix}{i}"})
    provider.apply(Change(Action.UPDATE, shared.address, desired=desired, live=shared))
"""


def group(name: str) -> Address:
    return Address("memory", "group", name)


def create(store: LiveStore, name: str) -> None:
    a = group(name)
    MemoryProvider(store).apply(Change(Action.CREATE, a, desired=Resource(a, {"description": ""})))


def test_two_processes_applying_at_once_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "live.json"
    seed = LiveStore(str(path))
    for name in ["shared"] + [f"seed{i}" for i in range(10)]:
        create(seed, name)
    go = tmp_path / "go"
    seeds = {"a": "seed0,seed1,seed2,seed3,seed4", "b": "seed5,seed6,seed7,seed8,seed9"}
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, str(path), prefix, seeds[prefix], str(go)],
            stderr=subprocess.PIPE,
            text=True,
        )
        for prefix in ("a", "b")
    ]
    try:
        deadline = time.monotonic() + 60
        while not all(Path(f"{path}.{p}.ready").exists() for p in "ab"):
            assert time.monotonic() < deadline, "children did not open the live file"
            assert all(c.poll() is None for c in children), [c.stderr for c in children]
            time.sleep(0.01)
        go.touch()  # both opened the file before either writes
        for child in children:
            _, err = child.communicate(timeout=120)
            assert child.returncode == 0, err
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()
    objects = json.loads(path.read_text("utf-8"))["objects"]
    names = {Address.parse(k).name for k in objects}
    # every create of both, no seed resurrected by the other's stale copy, the shared one kept
    assert names == {"shared"} | {f"{p}{i}" for p in "ab" for i in range(40)}
    assert objects["memory.group.shared"]["attributes"]["description"] in ("a39", "b39")
    # a store opened before the children ran sees their writes too
    assert set(seed.snapshot()) == set(objects)


def test_a_write_uses_the_file_as_it_is_now(tmp_path: Path) -> None:
    path = str(tmp_path / "live.json")
    one, two = LiveStore(path), LiveStore(path)
    assert one.snapshot() == {} == two.snapshot()
    create(one, "x")
    create(two, "y")  # two's earlier (empty) view is not written back
    assert set(LiveStore(path).objects) == {"memory.group.x", "memory.group.y"}
    assert set(one.objects) == set(two.objects)
