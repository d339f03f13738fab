"""The ``Sandbox`` object, the host serving every registered system, and the ``reconciler
sandbox`` command: start time, credentials, persistence in a data directory, temporary state
otherwise, one URL per system, ``--only``, consecutive ports, clean stop."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from reconciler.errors import ReconcilerError
from reconciler.sandbox import registry
from reconciler.sandbox.host import Host, SandboxServer
from reconciler.sandbox.server import Sandbox


def owner_headers(sandbox: Sandbox) -> dict[str, str]:
    return {"Authorization": f"Bearer User {sandbox.credentials['PHASE_TOKEN'].split(':')[2]}"}


def test_starts_fast_on_a_free_loopback_port_and_stops_cleanly() -> None:
    started = time.monotonic()
    sandbox = Sandbox(port=0)
    sandbox.start()
    elapsed = time.monotonic() - started
    try:
        assert elapsed < 3.0
        assert sandbox.url == f"http://127.0.0.1:{sandbox.port}" and sandbox.port > 0
        credentials = dict(sandbox.credentials)
        assert set(credentials) == {"PHASE_URL", "PHASE_TOKEN", "PHASE_EMAIL", "PHASE_PASSWORD"}
        assert credentials["PHASE_URL"] == sandbox.url
        assert (
            httpx.get(f"{sandbox.url}/v1/apps/", headers=owner_headers(sandbox)).status_code == 200
        )
        data = sandbox.store.path.parent
        assert data.exists()
    finally:
        sandbox.stop()
    sandbox.stop()  # idempotent
    assert not data.exists()  # the temporary state is removed
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{sandbox.url}/health/", timeout=1)


def test_a_data_directory_keeps_the_organisation_across_restarts(tmp_path: Path) -> None:
    with Sandbox(data_dir=tmp_path) as first:
        headers = owner_headers(first)
        token = first.credentials["PHASE_TOKEN"]
        made = httpx.post(f"{first.url}/v1/apps/", headers=headers, json={"name": "kept"})
        assert made.status_code == 201
    assert (tmp_path / "phase.sqlite3").exists()
    with Sandbox(data_dir=tmp_path) as second:
        assert second.credentials["PHASE_TOKEN"] == token  # not reseeded
        apps = httpx.get(f"{second.url}/v1/apps/", headers=owner_headers(second)).json()["data"]
        assert {a["name"] for a in apps} == {"kept", "legacy-api", "vault"}
        assert any(a["id"] == made.json()["id"] for a in apps)


def test_an_unseeded_sandbox_is_empty_and_plans_are_checked() -> None:
    with Sandbox(seed=False) as sandbox:
        assert sandbox.credentials["PHASE_TOKEN"] == ""
        assert httpx.get(f"{sandbox.url}/health/").json()["status"] == "alive"
        assert httpx.get(f"{sandbox.url}/_sandbox/principals/").json()["members"] == []
    with pytest.raises(ReconcilerError, match="unknown plan"):
        Sandbox(plan="gold")


def test_a_busy_port_is_a_clear_error() -> None:
    with Sandbox() as running, pytest.raises(ReconcilerError, match="cannot listen"):
        Sandbox(port=running.port)


def _cli(*args: str) -> subprocess.Popen[str]:
    env = os.environ | {"NO_COLOR": "1"}
    return subprocess.Popen(
        [sys.executable, "-c", "from reconciler.cli.app import main; main()", "sandbox", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _read_ready(proc: subprocess.Popen[str], systems: int) -> tuple[dict[str, str], list[str]]:
    """The exports and the commands to try, once every system has printed its block (its
    ``export`` lines, then one command)."""
    exports: dict[str, str] = {}
    commands: list[str] = []
    assert proc.stdout is not None
    while len(commands) < systems:
        line = proc.stdout.readline()
        assert line, proc.stderr.read() if proc.stderr else "no output"
        if line.startswith("export "):
            name, _, value = line.removeprefix("export ").strip().partition("=")
            exports[name] = value.strip("'\"")
        elif line.strip():
            commands.append(line.strip())
    return exports, commands


def _interrupt(proc: subprocess.Popen[str], signum: int = signal.SIGINT) -> int:
    proc.send_signal(signum)
    try:
        return proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)
        raise


def test_cli_prints_every_systems_exports_promptly_and_serves_them(tmp_path: Path) -> None:
    started = time.monotonic()
    proc = _cli("--port", "0", "--data", str(tmp_path))
    try:
        exports, commands = _read_ready(proc, len(registry.names()))
        assert time.monotonic() - started < 5.0
        for name in registry.names():
            prefix = f"{name.upper()}_"
            assert f"{prefix}URL" in exports, name
            assert httpx.get(exports[f"{prefix}URL"], timeout=5).status_code < 500
        assert {"PHASE_URL", "PHASE_TOKEN", "PHASE_EMAIL", "PHASE_PASSWORD"} <= set(exports)
        phase_try = next(c for c in commands if "$PHASE_URL" in c)
        if shutil.which("curl"):  # the printed command, as a user pastes it
            curl = subprocess.run(
                ["bash", "-c", phase_try], env=os.environ | exports,
                capture_output=True, text=True, timeout=10, check=False,
            )  # fmt: skip
            body = curl.stdout
        else:  # no curl: the same request with httpx
            bearer = exports["PHASE_TOKEN"].split(":")[2]
            body = httpx.get(
                f"{exports['PHASE_URL']}/v1/apps/",
                headers={"Authorization": f"Bearer User {bearer}"},
            ).text
        assert '"legacy-api"' in body
    finally:
        code = _interrupt(proc)
    assert code == 0, proc.stderr.read() if proc.stderr else ""
    assert (tmp_path / "phase.sqlite3").exists()
    with pytest.raises(httpx.TransportError):  # stopped: the port no longer answers
        httpx.get(f"{exports['PHASE_URL']}/health/", timeout=1)


def _free_port_pair() -> int:
    """A port N with N and N+1 free right now (the host binds N, N+1, ...)."""
    for _ in range(50):
        with socket.socket() as first:
            first.bind(("127.0.0.1", 0))
            port = int(first.getsockname()[1])
            with socket.socket() as second:
                try:
                    second.bind(("127.0.0.1", port + 1))
                except OSError:
                    continue
        return port
    raise AssertionError("no two consecutive free ports")


def test_cli_only_serves_one_system_on_the_given_port() -> None:
    port = _free_port_pair()
    proc = _cli("--only", "phase", "--port", str(port))
    try:
        exports, commands = _read_ready(proc, 1)
        assert exports["PHASE_URL"] == f"http://127.0.0.1:{port}"
        assert all(name.startswith("PHASE_") for name in exports) and len(commands) == 1
        assert httpx.get(f"{exports['PHASE_URL']}/health/", timeout=5).status_code == 200
    finally:
        assert _interrupt(proc, signal.SIGTERM) == 0  # `kill` stops it cleanly too


def test_cli_refuses_an_unknown_system() -> None:
    proc = _cli("--only", "nosuch")
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 1
    assert "no sandbox named 'nosuch'" in err and "phase" in err and "Traceback" not in err


# A second system plugged in as ``reconciler.sandbox.host`` documents: a folder with a server
# (an ``AppServer``) and a mount module, registered through ``RECONCILER_SANDBOXES`` (the
# registry's hook for sandboxes kept outside the repository).
ECHO_SERVER = """
from pathlib import Path
from fastapi import FastAPI, Header, HTTPException
from reconciler.sandbox.host import AppServer

class EchoSandbox(AppServer):
    def __init__(self, port: int = 0, data_dir: Path | None = None) -> None:
        super().__init__(port, name="echo")
        self.data_dir = data_dir
        app = FastAPI()

        @app.get("/health/")
        def health() -> dict[str, str]:
            return {"status": "ok"}

        @app.get("/api/v1/items")
        def items(x_api_key: str = Header("")) -> list[str]:
            if x_api_key != "k-echo":
                raise HTTPException(401)
            return ["one"]

        self.serve(app)

    @property
    def url(self) -> str:
        return self.root + "/api/v1"

    @property
    def credentials(self) -> dict[str, str]:
        return {"ECHO_URL": self.url, "ECHO_API_KEY": "k-echo"}
"""
ECHO_MOUNT = """
from reconciler.sandbox.host import SandboxMount
from echo_sandbox.server import EchoSandbox

MOUNT = SandboxMount(
    name="echo", title="Echo", factory=EchoSandbox,
    try_it='curl -s -H "X-Api-Key: $ECHO_API_KEY" "$ECHO_URL/items"',
)
"""


@pytest.fixture
def echo_registered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "echo_sandbox"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "server.py").write_text(ECHO_SERVER)
    (package / "mount.py").write_text(ECHO_MOUNT)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("RECONCILER_SANDBOXES", "echo=echo_sandbox.mount")


@pytest.mark.usefixtures("echo_registered")
def test_the_host_serves_every_registered_system_each_under_its_own_url(tmp_path: Path) -> None:
    mounts = registry.mounts()
    assert [m.name for m in mounts] == registry.names() and "echo" in registry.names()
    data = tmp_path / "data"
    with Host(mounts, data_dir=data) as host:
        urls = {name: server.url for name, server in host.servers.items()}
        assert set(urls) == set(registry.names())
        assert len({httpx.URL(u).port for u in urls.values()}) == len(urls)  # one port each
        for name, server in host.servers.items():
            assert isinstance(server, SandboxServer)
            credentials = dict(server.credentials)
            assert next(iter(credentials)) == f"{name.upper()}_URL"
            assert credentials[f"{name.upper()}_URL"] == server.url
        echo = host.servers["echo"].credentials
        answer = httpx.get(f"{echo['ECHO_URL']}/items", headers={"X-Api-Key": "k-echo"})
        assert answer.json() == ["one"]
        assert httpx.get(f"{echo['ECHO_URL']}/items").status_code == 401
        phase = host.servers["phase"]
        assert isinstance(phase, Sandbox)
        assert httpx.get(f"{phase.url}/v1/apps/", headers=owner_headers(phase)).status_code == 200
    for url in urls.values():  # all stopped
        with pytest.raises(httpx.TransportError):
            httpx.get(url, timeout=1)
    assert (data / "phase.sqlite3").exists()  # the shared data directory


@pytest.mark.usefixtures("echo_registered")
def test_only_and_consecutive_ports() -> None:
    only = registry.mounts(["echo"])
    assert [m.name for m in only] == ["echo"]
    port = _free_port_pair()
    host = Host(registry.mounts(["echo", "phase"]), port=port)  # serving order, not ours
    ready: list[str] = []
    try:
        host.start(on_ready=lambda mount, server: ready.append(f"{mount.name} {server.url}"))
        assert list(host.servers) == ["phase", "echo"]
        phase, echo = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{port + 1}/api/v1"
        assert ready == [f"phase {phase}", f"echo {echo}"]  # each announced once it answers
        assert httpx.get(f"{echo}/items", headers={"X-Api-Key": "k-echo"}).json() == ["one"]
    finally:
        host.stop()
    with pytest.raises(ReconcilerError, match="no sandbox named 'nope'"):
        registry.mounts(["nope"])


def test_the_registration_variable_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECONCILER_SANDBOXES", "phase=elsewhere.mount")
    with pytest.raises(ReconcilerError, match="'phase' is already registered"):
        registry.names()
    monkeypatch.setenv("RECONCILER_SANDBOXES", "just-a-module")
    with pytest.raises(ReconcilerError, match="is not name=module"):
        registry.mounts()


@pytest.mark.usefixtures("echo_registered")
def test_a_busy_port_names_its_system_and_releases_the_ones_already_bound() -> None:
    port = _free_port_pair()
    with socket.socket() as busy:
        busy.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        busy.bind(("127.0.0.1", port + 1))
        busy.listen()
        with pytest.raises(
            ReconcilerError, match=f"echo sandbox: cannot listen on 127.0.0.1:{port + 1}"
        ):
            Host(registry.mounts(["phase", "echo"]), port=port)
    Sandbox(port=port).stop()  # phase's port was released: it binds again at once
