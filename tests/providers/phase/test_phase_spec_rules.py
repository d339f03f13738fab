"""``validate`` refuses what the Phase server refuses and accepts what it accepts, with the
spec location (e-mails, text lengths after sanitising, suspicious HTML, durations the server
cannot add to its clock, names that are not strings, the request rate)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from reconciler.errors import SpecErrors
from reconciler.model.state import State
from reconciler.providers.phase import normalise as n
from reconciler.spec.load import load_spec

TOKEN = "pss_user:v1:" + ":".join(["ab" * 32] * 4)
ENV = {"PHASE_URL": "http://127.0.0.1:9", "PHASE_TOKEN": TOKEN}
HEAD = """\
version: 1
phase:
  connection:
    url: ${env:PHASE_URL}
    token: ${env:PHASE_TOKEN}
"""


def load(tmp_path: Path, body: str, head: str = HEAD) -> State:
    path = tmp_path / "spec.yaml"
    path.write_text(head + textwrap.indent(textwrap.dedent(body), "  "), encoding="utf-8")
    return load_spec(path, env=ENV).desired


def errors(tmp_path: Path, body: str, head: str = HEAD) -> list[str]:
    with pytest.raises(SpecErrors) as info:
        load(tmp_path, body, head)
    return [str(e) for e in info.value.errors]


@pytest.mark.parametrize("email", ["x@localhost", "x@[127.0.0.1]", "x@exämple.com", "Bob@Acme.io"])
def test_emails_the_server_accepts_are_accepted(email: str) -> None:
    assert n.email_problem(email) is None


@pytest.mark.parametrize(
    "email", ["Ünïcode@acme.test", "x@acme", "a..b@acme.io", "x@[999.1.1.1]", " x@acme.io"]
)
def test_emails_the_server_refuses_are_refused(email: str) -> None:
    assert "e-mail" in (n.email_problem(email) or "")


def test_text_length_counts_what_the_server_stores(tmp_path: Path) -> None:
    tagged = "<b>" + "x" * 9990 + "</b>"  # 9997 characters once stripped
    load(tmp_path, f"apps:\n  pay: {{description: '{tagged}'}}\n")
    found = errors(tmp_path, f"apps:\n  pay: {{description: '{'y' * 10001}'}}\n")
    assert found and "longer than 10000" in found[0] and ":7:" in found[0]
    found = errors(
        tmp_path,
        f"roles:\n  R: {{description: '{'z' * 501}', permissions: {{Apps: [read]}}}}\n",
    )
    assert found and "longer than 500" in found[0]


def test_suspicious_html_is_refused_like_the_server_does(tmp_path: Path) -> None:
    body = "<" * 51 + "a>" * 51
    found = errors(tmp_path, f"teams:\n  t: {{description: '{body}'}}\n")
    assert found and "suspicious HTML" in found[0] and ":7:" in found[0]


def test_a_token_lifetime_the_server_cannot_add_to_its_clock_is_refused(tmp_path: Path) -> None:
    body = "service_accounts:\n  ci:\n    tokens:\n      deploy: {expires_in: %s}\n"
    found = errors(tmp_path, body % "99999999999999999999d")
    assert found and "before the year 10000" in found[0] and ":9:" in found[0]
    assert errors(tmp_path, body % "2920000d")  # ~8000 years
    load(tmp_path, body % "36500d")  # a century is fine


@pytest.mark.parametrize(
    "environments", ["[7]", "[Development, true]", "[{name: 7}]", "[{name: [x]}]"]
)
def test_environment_names_must_be_strings(tmp_path: Path, environments: str) -> None:
    # the server answers such a POST /v1/environments/ with HTTP 500
    found = errors(tmp_path, f"apps:\n  pay: {{environments: {environments}}}\n")
    assert found and "expected a string" in " ".join(found)


@pytest.mark.parametrize(
    ("rate", "ok"), [("1", True), ("60000", True), ("0", False), ("60001", False)]
)
def test_rate_limit_bounds(tmp_path: Path, rate: str, ok: bool) -> None:
    head = HEAD + f"    rate_limit: {rate}\n"
    if ok:
        load(tmp_path, "", head)
    else:
        found = errors(tmp_path, "", head)
        assert len(found) == 1 and ":6:5:" in found[0]


def test_names_are_the_keys_as_written(tmp_path: Path) -> None:
    # mapping keys are taken as written, never as numbers or booleans: always string names
    desired = load(tmp_path, "apps:\n  123: {}\n  true: {}\n  0x1F: {}\n")
    names = sorted(r.attributes["name"] for r in desired.of_kind("phase", "app"))
    assert names == ["0x1F", "123", "true"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("apps:\n  " + "a" * 65 + ": {}\n", "longer than 64"),
        ("teams:\n  '<i>t</i>': {}\n", "would be stored as 't'"),
        ("roles:\n  ' r': {permissions: {Apps: [read]}}\n", "would be stored as 'r'"),
        ("service_accounts:\n  ci: {tokens: {'  ': {}}}\n", "must not be blank"),
    ],
)
def test_names_the_server_would_refuse_or_alter(tmp_path: Path, body: str, message: str) -> None:
    found = errors(tmp_path, body)
    assert any(message in f for f in found), found


@pytest.mark.parametrize("email", ["x@localhost", "x@[127.0.0.1]", "x@exämple.com", "Bob@Acme.io"])
def test_validate_accepts_the_emails_the_server_accepts(tmp_path: Path, email: str) -> None:
    desired = load(tmp_path, f'members:\n  "{email}": {{role: Developer}}\n')
    assert [r.address.name for r in desired.of_kind("phase", "member")] == [email.lower()]


@pytest.mark.parametrize("email", ["Ünïcode@acme.test", "x@acme", "x@[999.1.1.1]", " x@acme.io"])
def test_validate_refuses_the_emails_the_server_refuses(tmp_path: Path, email: str) -> None:
    found = errors(tmp_path, f'members:\n  "{email}": {{role: Developer}}\n')
    assert len(found) == 1 and ":7:" in found[0] and "e-mail" in found[0], found
