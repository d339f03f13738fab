"""The ``Sandbox`` object and the ``reconciler sandbox`` command: start time, credentials,
persistence in a data directory, temporary state otherwise, clean stop."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from reconciler.errors import ReconcilerError
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


def test_cli_prints_exports_promptly_and_serves_them(tmp_path: Path) -> None:
    started = time.monotonic()
    env = os.environ | {"NO_COLOR": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-c", "from reconciler.cli.app import main; main()", "sandbox",
         "--port", "0", "--data", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )  # fmt: skip
    try:
        exports: dict[str, str] = {}
        assert proc.stdout is not None
        while len(exports) < 4:
            line = proc.stdout.readline()
            assert line, proc.stderr.read() if proc.stderr else "no output"
            if line.startswith("export "):
                name, _, value = line.removeprefix("export ").strip().partition("=")
                exports[name] = value.strip("'\"")
        assert time.monotonic() - started < 5.0
        assert set(exports) == {"PHASE_URL", "PHASE_TOKEN", "PHASE_EMAIL", "PHASE_PASSWORD"}
        bearer = exports["PHASE_TOKEN"].split(":")[2]
        curl = subprocess.run(
            ["curl", "-s", "-H", f"Authorization: Bearer User {bearer}",
             f"{exports['PHASE_URL']}/v1/apps/"],
            capture_output=True, text=True, timeout=10, check=False,
        )  # fmt: skip
        if curl.returncode == 127:  # no curl: the same request with httpx
            body = httpx.get(
                f"{exports['PHASE_URL']}/v1/apps/",
                headers={"Authorization": f"Bearer User {bearer}"},
            ).text
        else:
            body = curl.stdout
        assert '"legacy-api"' in body
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    assert (tmp_path / "phase.sqlite3").exists()
