"""Plain http:// only to loopback unless the connection allows it (``kit.insecure``)."""

from __future__ import annotations

import pytest

from reconciler.errors import ReconcilerError
from reconciler.providers.kit.http import HttpClient
from reconciler.providers.kit.insecure import allow_insecure_http, check_scheme


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8000", "http://127.8.9.1/api", "http://[::1]:80", "http://LOCALHOST:1",
     "https://api.example.com", "https://10.0.0.1"],
)  # fmt: skip
def test_loopback_and_https_are_accepted(url: str) -> None:
    check_scheme(url, "Shelf")


@pytest.mark.parametrize("url", ["http://10.0.0.1:8000", "http://phase.internal", "http://[::2]"])
def test_plain_http_elsewhere_is_refused_with_the_way_out(url: str) -> None:
    with pytest.raises(ReconcilerError) as err:
        HttpClient(url, system="Shelf")
    assert str(err.value).startswith("Shelf at http://")
    assert "allow_insecure_http: true" in str(err.value)


def test_allowed_in_the_block_only() -> None:
    with allow_insecure_http(True):
        HttpClient("http://10.0.0.1", system="Shelf").close()
    with pytest.raises(ReconcilerError):
        check_scheme("http://10.0.0.1", "Shelf")
