"""Normalisation and the server's name rules, without network."""

from __future__ import annotations

import datetime

import pytest

from reconciler.address import Address
from reconciler.model.resource import Resource
from reconciler.providers.phase import normalise as n
from reconciler.providers.phase.spec import duration_seconds


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("<b>Payments</b> API", "Payments API"),
        ("  padded \n", "padded"),
        ("tab\there", "tab\there"),  # tab, LF and CR are kept
        ("bell\x07 and \x9fC1", "bell and C1"),
        ("latency < 5 ms > target", "latency < 5 ms > target"),
        ("<!-- a > b -->x", "x"),
        ("", ""),
        (None, ""),
    ],
)
def test_text_is_sanitised_like_the_server(raw: str | None, stored: str) -> None:
    assert n.text(raw) == stored


def test_blank_app_description_is_null_but_role_and_team_text_is_empty() -> None:
    assert n.app_description("  ") is None
    assert n.app_description(None) is None
    assert n.app_description("<i></i>") is None
    assert n.app_description(" x ") == "x"
    assert n.text("  ") == ""


def test_access_sorted_and_empty_apps_dropped() -> None:
    assert n.access({"b": ["Z", "A", "A"], "a": ["x"], "c": []}) == {
        "a": ["x"],
        "b": ["A", "Z"],
    }


def test_without_takes_out_what_teams_grant() -> None:
    grants = {"pay": ["Dev", "Prod"], "web": ["qa"]}
    assert n.without(grants, {"pay": ["Dev"], "web": ["qa"]}) == {"pay": ["Prod"]}
    assert n.without(grants, {}) == {"pay": ["Dev", "Prod"], "web": ["qa"]}


def test_permissions_sorted_and_empty_classes_dropped() -> None:
    assert n.permissions({"Roles": [], "Apps": ["update", "read", "read"]}) == {
        "Apps": ["read", "update"]
    }


def test_default_roles_are_found_in_any_case() -> None:
    assert n.default_role("developer") == "Developer"
    assert n.default_role("ADMIN") == "Admin"
    assert n.default_role("Auditor") is None
    assert n.is_global("Admin") and n.is_global("Owner")
    assert not n.is_global("Manager") and not n.is_global(None)
    assert n.is_global("SuperUser", {"Owner", "Admin", "SuperUser"})


def test_instants_not_strings() -> None:
    a = n.instant("2026-11-22T13:58:49.879024Z")
    b = n.instant("2026-11-22T14:58:49.879024+01:00")
    assert a == b and a.tzinfo is not None
    naive = n.instant(datetime.datetime(2026, 1, 1, 12, 0))
    assert naive.tzinfo == datetime.UTC


def test_token_lifetime_in_whole_minutes() -> None:
    created = n.instant("2026-01-01T00:00:00.000100Z")
    expires = n.instant("2026-01-31T00:00:00.000000Z")  # created a few microseconds later
    assert n.lifetime(created, expires) == 30 * 86400
    assert n.lifetime(created, None) is None
    assert n.minutes(89) == 60 and n.minutes(91) == 120 and n.minutes(None) is None


def test_keys_split_at_the_last_slash() -> None:
    assert n.split_key(n.env_key("payments", "Production")) == ("payments", "Production")
    assert n.split_key("ci/deployer/deploy") == ("ci/deployer", "deploy")


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("Production", True),
        ("qa-2_eu", True),
        ("x" * 64, True),
        ("x" * 65, False),
        ("has space", False),
        ("", False),
        ("dots.no", False),
        ("é", False),
    ],
)
def test_environment_names_follow_the_server_regex(name: str, ok: bool) -> None:
    assert (n.env_name_problem(name) is None) is ok


def test_object_names_must_survive_sanitising() -> None:
    assert n.name_problem("payments", "app") is None
    problem = n.name_problem("<b>pay</b>", "app")
    assert problem is not None and "'pay'" in problem
    assert n.name_problem(" ", "app") == "app name must not be blank"
    assert "longer than 64" in (n.name_problem("a" * 65, "team") or "")


def test_permission_classes_and_actions_are_checked() -> None:
    problems = n.permission_problems(
        {"Apps": ["read"], "Logs": ["update"], "Nope": ["read"]}, n.ORG_PERMISSIONS
    )
    assert problems == [
        ("Logs", "Logs: unknown action 'update' (one of read)"),
        ("Nope", "unknown permission class 'Nope'"),
    ]
    assert n.permission_problems({"EncryptionMode": ["read", "update"]}, n.APP_PERMISSIONS) == []


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90d", 90 * 86400), ("12h", 43200), ("30m", 1800), ("2w", 14 * 86400), (7, 7 * 86400)],
)
def test_durations(text: str | int, seconds: int) -> None:
    assert duration_seconds(text) == seconds


@pytest.mark.parametrize("bad", ["", "soon", "0d", "-1d", "1y", True])
def test_bad_durations(bad: str | int) -> None:
    with pytest.raises(ValueError):
        duration_seconds(bad)


def test_text_is_sent_as_written_and_compared_as_the_server_stores_it() -> None:
    raw = "latency < 5 ms > <b>target</b>"
    desired = Resource(
        Address("phase", "app", "pay"),
        {"name": "pay", "description": n.app_description(raw)},
        meta=n.written(description=raw),
    )
    assert desired.attributes["description"] == "latency < 5 ms > target"
    assert n.as_written(desired, "description") == raw
    # a resource without the text as written (an older saved plan) sends the attribute
    bare = Resource(Address("phase", "team", "t"), {"description": "x"})
    assert n.as_written(bare, "description") == "x"
    blank = Resource(Address("phase", "app", "a"), {"description": None}, meta=n.written())
    assert n.as_written(blank, "description") == ""
    # sanitising twice can differ from once: the live text is compared as stored
    stored = n.text("<\x00b>x</b>")
    assert stored == "<b>x" and n.text(stored) == "x"
    assert n.live_text(stored) == stored and n.live_text(None) == ""
    assert n.live_app_description("  ") is None and n.live_app_description("<b>x") == "<b>x"
