"""A run killed (``kill -9``) after the server acted on a create but before its answer arrived:
the next run has no memory of the attempt but the ``attempted`` record written before the POST,
and the server refuses the create again ("already-assigned", "already has an application").
That refusal is adopted, never a failure repeated forever, and nothing is created twice
(docs/connect-api.md#identity). The kill goes through the campaign's fault proxy
(tests/faults/proxy.py) at exactly that request."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

from connect_org import Org

from reconciler.address import Address
from reconciler.state.open import open_location

UNIT = "connect.payment_unit.malaria-2027/kisumu-pilot/household-visit"

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "faults"))

from proxy import FaultProxy  # noqa: E402


def _killed_after(org: Org, path_end: str) -> None:
    """Apply in a child process, killed once the server has acted on the first POST whose path
    ends with ``path_end`` and before the answer reaches it."""
    proxy = FaultProxy(int(str(org.sandbox.root).rstrip("/").rsplit(":", 1)[1]))
    proxy.start()
    child: subprocess.Popen[bytes] | None = None

    def hook(index: int, method: str, path: str) -> str | None:
        return "after" if method == "POST" and path.split("?")[0].endswith(path_end) else None

    def kill() -> None:
        if child is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child.pid, signal.SIGKILL)

    proxy.configure(seed=0, rate=0.0, hook=hook)
    proxy.kill = kill
    try:
        code = "from reconciler.cli.app import main; main()"
        env = {**os.environ, "CONNECT_URL": f"http://127.0.0.1:{proxy.port}"}
        child = subprocess.Popen(
            [sys.executable, "-c", code, "apply", str(org.spec), "--auto-approve"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        child.communicate(timeout=120)
        assert child.returncode == -signal.SIGKILL
    finally:
        proxy.stop()


def test_payment_unit_made_by_a_run_that_never_saw_the_answer_is_adopted(org: Org) -> None:
    _killed_after(org, "/payment_units/")
    assert len(org.table("payment_units")) == 1
    assert not org.table("opportunities")[0]["active"]
    applied = org.converge()
    assert "created by an attempt whose answer was lost" in applied.output
    assert len(org.table("payment_units")) == 1  # adopted, not created twice
    assert org.table("opportunities")[0]["active"]
    assert org.apply().exit_code == 0  # converged: a further run changes nothing
    assert len(org.table("payment_units")) == 1


def test_deliver_units_assigned_without_an_attempt_are_an_error_naming_both(org: Org) -> None:
    _killed_after(org, "/payment_units/")
    # the state store loses the evidence (e.g. the unit was made in Connect by hand): the
    # refusal proves nothing about this payment unit, so it is not adopted
    store = open_location(os.environ["RECONCILER_STATE"])
    try:
        store.forget(Address.parse(UNIT))
    finally:
        store.close()
    failed = org.apply()
    assert failed.exit_code == 1
    assert "already assigned to another payment unit" in failed.output
    assert "'household-visit'" in failed.output and "visit-form" in failed.output
    assert len(org.table("payment_units")) == 1


def test_application_made_by_a_run_that_never_saw_the_answer_is_adopted(org: Org) -> None:
    _killed_after(org, "/applications/")
    assert [a["status"] for a in org.table("applications")] == ["invited"]
    adopting = org.apply()
    assert adopting.exit_code == 1
    assert "accept it in Connect" in adopting.output
    assert "already has an application" not in adopting.output
    # its UUID is never exported: the opportunity is refused until the operator accepts
    waiting = org.apply()
    assert waiting.exit_code == 1 and "accept it in Connect" in waiting.output
    assert [a["status"] for a in org.table("applications")] == ["invited"]
    org.ctl(
        "POST",
        "changes/",
        {
            "changes": [
                {
                    "op": "set_application",
                    "program": "Malaria 2027",
                    "organization": "kisumu-health",
                    "status": "accepted",
                }
            ]
        },
    )
    org.converge()
    assert len(org.table("applications")) == 1 and len(org.table("opportunities")) == 1
