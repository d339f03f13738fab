"""Hostile servers in place of every provider's API (``hostile.MODES``: 101 MB answers, JSON
nested 10,000 deep, wrong types, HTML error and login pages, a redirect to another origin, a
server that never answers, an endless trickle, a self-signed TLS certificate).

Each plan ends with exit 1 and a short error naming the system or the provider, no traceback,
within a bound set by ``RECONCILER_HTTP_TIMEOUT`` (0.25 s here: at most 3 x 0.25 s of retries per
request); nothing follows the redirect. Mid-apply, a write the server acted on but answered
with garbage leaves nothing a clean re-run cannot finish, and nothing twice.
"""

from __future__ import annotations

import time

import pytest
from harness import Rig, garbled_trial
from hostile import MODES, HostileServer

pytestmark = pytest.mark.e2e

SYSTEMS = {
    "phase": "phase",
    "flagsmith": "flagsmith",
    "messages": "messages",
    "connect": "commcare connect",
}
BOUND = 10.0  # seconds: two sequential requests, with back-off and startup


@pytest.mark.parametrize("mode", MODES)
def test_a_hostile_server_gives_one_clear_error_in_bounded_time(rig: Rig, mode: str) -> None:
    server = HostileServer(mode)
    server.start()
    run = rig.fresh()
    try:
        scheme = "https" if mode == "tls" else "http"
        proxied = f"http://127.0.0.1:{rig.proxy.port}"
        for key, value in list(run.env.items()):
            run.env[key] = value.replace(proxied, f"{scheme}://127.0.0.1:{server.port}")
        run.env["RECONCILER_HTTP_TIMEOUT"] = "0.25"
        started = time.monotonic()
        outcome = run.plan_empty()
        seconds = time.monotonic() - started
        assert outcome.code == 1 and not outcome.traceback, outcome.output
        lines = [line for line in outcome.output.splitlines() if line.strip()]
        assert 1 <= len(lines) <= 2, outcome.output
        assert SYSTEMS[rig.name] in outcome.output.lower(), outcome.output
        assert seconds < BOUND, (seconds, outcome.output)
        if server.other is not None:
            assert server.other.requests == 0  # credentials never follow a redirect
    finally:
        server.stop()
        run.close()


def test_a_garbled_answer_mid_apply_is_finished_by_a_rerun(rig: Rig) -> None:
    trial = garbled_trial(rig, 7)
    assert not trial.problems and not trial.duplicates, trial
    assert 1 <= trial.runs_to_converge <= 2 or trial.needs_operator, trial


@pytest.mark.parametrize("allowed", [False, True])
def test_plain_http_to_another_host_is_refused_unless_allowed(rig: Rig, allowed: bool) -> None:
    run = rig.fresh()
    try:
        proxied = f"http://127.0.0.1:{rig.proxy.port}"
        for key, value in list(run.env.items()):
            run.env[key] = value.replace(proxied, "http://192.0.2.1:9")  # TEST-NET: no host
        run.env["RECONCILER_HTTP_TIMEOUT"] = "0.25"
        if allowed:
            flag = "  connection:\n    allow_insecure_http: true\n"
            for spec in run.spec.glob("*.yaml"):
                spec.write_text(spec.read_text().replace("  connection:\n", flag))
        outcome = run.plan_empty()
        assert outcome.code == 1 and not outcome.traceback, outcome.output
        refused = "allow_insecure_http: true" in outcome.output
        assert refused is not allowed, outcome.output  # allowed: it tried, and nobody answered
        assert "192.0.2.1" in outcome.output or allowed, outcome.output
    finally:
        run.close()
