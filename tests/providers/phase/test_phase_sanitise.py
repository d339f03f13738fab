"""The server's text and e-mail rules (``sanitise``): Django's ``strip_tags`` and
``EmailValidator`` as console v2.73.2 applies them (cases recorded against a real server)."""

from __future__ import annotations

import pytest

from reconciler.providers.phase import sanitise as s


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        # recorded: the real server kept or stripped exactly this
        ("a < b > c", "a < b > c"),
        ("<!-- a > b -->x", "x"),
        ("<img src='x>y'>z", "z"),
        ("<<b>>hi<</b>>", "<>hi<>"),
        # html.parser semantics beyond the recorded cases
        ("<b>Payments</b> API", "Payments API"),
        ("latency < 5 ms > target", "latency < 5 ms > target"),
        ("<b>AT&T</b>", "AT&T;"),  # a reference is re-emitted with its semicolon...
        ("AT&T <>", "AT&T <>"),  # ...but only when a pass removed a tag
        ("x &#65; <i>y</i>", "x &#65; y"),
        ("<script>alert(1)</script>ok", "alert(1)ok"),
        ("no tags at all", "no tags at all"),
        ("only < here", "only < here"),
        ("<b>unclosed", "unclosed"),
        ("a <br/> b", "a  b"),
        ("<?php x ?>y", "y"),
        ("<!DOCTYPE html>z", "z"),
    ],
)
def test_strip_tags_follows_the_html_parser(raw: str, stored: str) -> None:
    assert s.strip_tags(raw) == stored


def test_clean_text_strips_tags_then_controls_then_spaces() -> None:
    assert s.clean_text("  <b>x</b>\x00 ") == "x"
    assert s.clean_text("tab\tkept\r\n") == "tab\tkept"
    assert s.clean_text("\x9fC1 \x07bell") == "C1 bell"
    # a control character hides a tag from the parser, and is removed after it ran
    assert s.clean_text("<\x00b>x</b>") == "<b>x"


def test_suspicious_html_is_refused_like_the_server() -> None:
    with pytest.raises(s.Suspicious):
        s.strip_tags("<a" + "<" * 60 + "x" * 1000)
    with pytest.raises(s.Suspicious):
        s.strip_tags("<" * 51 + "a>" * 51)  # each pass peels one tag: 51 passes
    assert s.strip_tags("<" * 50 + "a>" * 50) == ""  # 50 passes are allowed
    assert s.strip_tags("<a" + "x" * 1000) == "<a" + "x" * 1000  # few '<': kept


@pytest.mark.parametrize(
    ("email", "ok"),
    [
        # recorded: the real server accepted these (201)...
        ("x@localhost", True),
        ("x@[127.0.0.1]", True),
        ("x@exämple.com", True),
        # ...and refused a non-ASCII local part (400)
        ("ünïcode@acme.test", False),
        ("alice@acme.io", True),
        ("a.b+tag@sub.acme.io", True),
        ('"quoted"@acme.io', True),
        ('"has space"@acme.io', False),
        ("x@[::1]", True),
        ("x@[IPv6:::1]", False),
        ("x@[1.2.3]", False),
        ("x@[999.1.1.1]", False),
        ("x@acme", False),
        ("x@acme.c", False),
        ("x@acme.io.", False),
        ("x@-acme.io", False),
        ("x@acme.xn--p1ai", True),
        ("a..b@acme.io", False),
        (".a@acme.io", False),
        ("a@b@acme.io", False),
        ("@acme.io", False),
        ("x@", False),
        ("", False),
        ("a" * 64 + "@" + "b" * 63 + "." + "c" * 63 + "." + "d" * 63 + "." + "e" * 60, True),
        ("a" * 64 + "@" + ("b" * 63 + ".") * 4 + "io", False),  # 321 characters
    ],
)
def test_email_validator(email: str, ok: bool) -> None:
    assert s.email_valid(email) is ok


def test_clean_email_trims_and_lowercases_before_validating() -> None:
    assert s.clean_email("  Alice@ACME.io ") == "alice@acme.io"
    assert s.clean_email("X@LOCALHOST") == "x@localhost"
    assert s.clean_email("Ünïcode@acme.test") is None
    assert s.clean_email("   ") is None
