"""The html access report in a real headless Chromium (Debian's ``chromium``, started by the
test with a fresh profile, stopped when it exits): it renders, the URL hash filters and sorts the
matrix, no console message is logged, and a screenshot is produced. Skipped, saying why, only
where Chromium is not installed (``.ci/run`` installs it)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest
from access_org import AccessOrg

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None and os.environ.get("RECONCILER_REQUIRE_CHROMIUM"):
    raise RuntimeError("RECONCILER_REQUIRE_CHROMIUM is set but chromium is not installed")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None,
    reason="chromium is not installed (Debian: apt-get install chromium; .ci/run installs it)",
)
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--enable-logging=stderr",
    "--v=0",
)


def chromium(tmp: Path, *args: str) -> tuple[str, list[str]]:
    """Run Chromium once (fresh ``--user-data-dir``); its stdout and the page's console lines."""
    assert CHROMIUM is not None
    profile = tmp / f"profile-{len(list(tmp.glob('profile-*')))}"
    done = subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout, [line for line in done.stderr.splitlines() if ":CONSOLE" in line]


def visible_rows(dom: str) -> list[str]:
    rows = re.findall(r'<tr id="([^"]+)" data-p="[^"]+"( style="[^"]*")?>', dom)
    return [r for r, style in rows if "display: none" not in style]


def visible_columns(dom: str) -> list[str]:
    heads = re.findall(r'<th class="r" data-r="([^"]+)"[^>]*?( style="[^"]*")?>', dom)
    return [r for r, style in heads if "display: none" not in style]


@pytest.fixture
def page(phase_org: AccessOrg) -> Path:
    phase_org.converge()
    out = phase_org.tmp / "access.html"
    result = phase_org.run("access", str(phase_org.spec), "--format", "html", "--out", str(out))
    assert result.exit_code == 0, result.output
    return out


@needs_chromium
def test_the_page_renders_filters_and_sorts_without_console_messages(
    page: Path, tmp_path: Path
) -> None:
    text = page.read_text()
    assert "http://" not in text and "https://" not in text  # no external asset
    dom, console = chromium(tmp_path, "--dump-dom", page.as_uri())
    assert console == []
    rows = visible_rows(dom)
    assert "phase.member.dana@acme.test" in rows and "phase.team.backend" in rows
    assert f"{len(rows)} principals shown" in dom  # the script ran
    assert len(visible_columns(dom)) == 12

    dom, console = chromium(tmp_path, "--dump-dom", page.as_uri() + "#principal=dana")
    assert console == []
    assert visible_rows(dom) == ["phase.member.dana@acme.test"]
    assert "1 principals shown" in dom

    dom, console = chromium(tmp_path, "--dump-dom", page.as_uri() + "#resource=vault/")
    assert console == []
    assert visible_columns(dom) == [
        "phase.environment.vault/Audit",
        "phase.environment.vault/Development",
        "phase.environment.vault/Production",
    ]

    # sorted by a column: the highest right first (admins, then writers, then the rest)
    dom, console = chromium(
        tmp_path, "--dump-dom", page.as_uri() + "#sort=phase.environment.vault/Production"
    )
    assert console == []
    order = visible_rows(dom)
    assert set(order[:2]) == {"phase.member.admin@acme.test", "phase.member.owner@acme.test"}
    assert order[2] == "phase.service_account.ci-deployer"


@needs_chromium
def test_a_screenshot_is_produced(page: Path, tmp_path: Path) -> None:
    shot = tmp_path / "access.png"
    _, console = chromium(
        tmp_path, f"--screenshot={shot}", "--window-size=1400,1000", page.as_uri()
    )
    assert console == []
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000


@needs_chromium
def test_the_console_check_sees_a_broken_page(tmp_path: Path) -> None:
    """The check above can fail: a page that throws is seen."""
    broken = tmp_path / "broken.html"
    broken.write_text("<html><body><script>null.x;</script></body></html>")
    _, console = chromium(tmp_path, "--dump-dom", broken.as_uri())
    assert any("Uncaught TypeError" in line for line in console)


@needs_chromium
def test_drift_links_to_the_matrix_rows_of_the_principals_involved(
    phase_org: AccessOrg, tmp_path: Path
) -> None:
    phase_org.converge()
    # an out-of-band change: dev@ demoted to a read-only custom role
    with owner_client(phase_org) as owner:
        members = {m["email"]: m["id"] for m in owner.get("/v1/members/").json()["data"]}
        roles = {r["name"]: r["id"] for r in owner.get("/v1/roles/").json()["data"]}
        body = {"role_id": roles["Auditor"]}
        assert owner.put(f"/v1/members/{members['dev@acme.test']}/", json=body).status_code < 300
    folder = phase_org.tmp / "reports"
    folder.mkdir()
    spec = str(phase_org.spec)
    assert (
        phase_org.run(
            "drift", spec, "--format", "html", "--out", str(folder / "drift.html")
        ).exit_code
        == 2
    )
    assert (
        phase_org.run(
            "access", spec, "--format", "html", "--out", str(folder / "access.html")
        ).exit_code
        == 0
    )
    drift = (folder / "drift.html").read_text()
    [href] = re.findall(r"href='(access\.html#principal=[^']*dev[^']*)'", drift)
    dom, console = chromium(
        tmp_path, "--dump-dom", (folder / "access.html").as_uri() + href[len("access.html") :]
    )
    assert console == []
    assert visible_rows(dom) == ["phase.member.dev@acme.test"]
    # the matrix shows the demotion against the spec: read now, write declared
    cell = re.search(r'<tr id="phase.member.dev@acme.test".*?</tr>', dom)
    assert cell is not None and "R!" in cell.group(0)


def owner_client(org: AccessOrg) -> httpx.Client:
    token = org.credentials["PHASE_TOKEN"]
    auth = f"Bearer User {token.split(':')[2]}"
    return httpx.Client(base_url=org.credentials["PHASE_URL"], headers={"Authorization": auth})
