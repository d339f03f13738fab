"""The console's session cookie marked ``Secure`` (as a real server marks it) over ``http://``:
carried to a loopback host, refused with a message for any other."""

from __future__ import annotations

import httpx
import pytest

from reconciler.crypto.tokens import parse_token
from reconciler.errors import ProviderError
from reconciler.providers.kit.insecure import allow_insecure_http
from reconciler.providers.phase import console as console_module
from reconciler.providers.phase.client import PhaseClient
from reconciler.providers.phase.console import Console
from reconciler.sandbox.server import Sandbox
from reconciler.secrets.value import Secret

BEARER = "ab" * 32
USER = f"pss_user:v1:{BEARER}:" + ":".join(["cd" * 32] * 3)


@pytest.mark.e2e
def test_a_secure_session_cookie_is_carried_over_http_to_a_loopback_host() -> None:
    with Sandbox() as sandbox:
        sandbox.runtime.secure_cookie = True
        creds = httpx.post(f"{sandbox.url}/_sandbox/reset/", timeout=10).json()
        email, password = creds["PHASE_EMAIL"], creds["PHASE_PASSWORD"]
        auth_hash = console_module.password_auth_hash(password, email)
        login = httpx.post(
            f"{sandbox.url}/auth/password/login/", json={"email": email, "authHash": auth_hash}
        )
        assert "secure" in login.headers["set-cookie"].lower()  # as a real server sends it
        client = PhaseClient(sandbox.url, parse_token(creds["PHASE_TOKEN"]))
        try:
            found = Console(client, email, Secret(password)).identities()
        finally:
            client.close()
    assert found is not None and email not in found.members  # ids, with their identity keys
    assert any(key for key in found.members.values())


def test_a_secure_session_cookie_over_http_to_another_host_asks_for_https() -> None:
    def server(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/auth/password/login/"
        cookie = "sessionid=s1; HttpOnly; Path=/; SameSite=Lax; Secure"
        return httpx.Response(200, json={"userId": "m0"}, headers={"Set-Cookie": cookie})

    with allow_insecure_http(True):  # the spec's allow_insecure_http: true
        client = PhaseClient(
            "http://phase.internal:8080", parse_token(USER), transport=httpx.MockTransport(server)
        )
    console = Console(client, "owner@acme.test", Secret("pw"))
    with pytest.raises(ProviderError) as info:
        console.login()
    assert str(info.value) == (
        "phase.connection: the console login needs HTTPS: phase.internal marks its session "
        "cookie Secure, which is never sent back over http://; use an https:// URL"
    )
    assert not console.logged_in
