"""Every ``docs/<file>.md#<anchor>`` that code or tests cite names a file and a heading that
exist, and the links inside ``docs/`` resolve: a renamed heading fails here, not in a reader's
browser. Anchors are GitHub's: the heading text lower-cased, punctuation dropped, spaces as
hyphens, ``-1``, ``-2``... for repeats."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
# ``docs/phase-api.md#members`` or a list ``docs/phase-api.md#members, #invites`` (may wrap lines)
CITATION = re.compile(r"docs/([\w./-]+\.md)#([\w-]+)((?:,\s+#[\w-]+)*)")
LINK = re.compile(r"\]\(([\w./-]*\.md)?#([\w-]+)\)")


def slug(heading: str) -> str:
    """GitHub's anchor of a heading's text."""
    text = re.sub(r"[`*_]", "", heading).strip().lower()  # emphasis and code marks vanish
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


@cache
def anchors(doc: Path) -> frozenset[str]:
    seen: dict[str, int] = {}
    out: set[str] = set()
    in_fence = False
    for line in doc.read_text("utf-8").splitlines():
        if line.startswith("```"):
            in_fence = not in_fence
        match = None if in_fence else re.match(r"#{1,6} (.+?)\s*#*$", line)
        if match:
            base = slug(match.group(1))
            count = seen.get(base, 0)
            seen[base] = count + 1
            out.add(base if count == 0 else f"{base}-{count}")
    return frozenset(out)


def unresolved(citations: list[tuple[str, str, str]]) -> list[str]:
    """``where: docs/file#anchor`` for each citation whose file or heading is missing."""
    bad = []
    for where, name, anchor in citations:
        doc = DOCS / name
        if not doc.is_file() or anchor not in anchors(doc):
            bad.append(f"{where}: docs/{name}#{anchor}")
    return bad


def citations_in(text: str, where: str) -> list[tuple[str, str, str]]:
    """``(where:line, file, anchor)`` for each anchor cited in ``text``."""
    found = []
    for match in CITATION.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        for anchor in [match.group(2), *re.findall(r"#([\w-]+)", match.group(3))]:
            found.append((f"{where}:{line}", match.group(1), anchor))
    return found


def cited() -> list[tuple[str, str, str]]:
    found = []
    for top in ("reconciler", "tests", "benchmarks", "examples"):
        for path in sorted((ROOT / top).rglob("*")):
            if path.suffix not in {".py", ".sh", ".yaml", ".yml", ".md"} or not path.is_file():
                continue
            if path == Path(__file__).resolve():  # its own examples of broken citations
                continue
            found += citations_in(path.read_text("utf-8"), str(path.relative_to(ROOT)))
    return found


def test_github_anchors() -> None:
    assert slug("Throttling") == "throttling"
    assert (
        slug("What a service-account token cannot do") == "what-a-service-account-token-cannot-do"
    )
    assert slug("SSE and E2EE apps") == "sse-and-e2ee-apps"
    assert slug("`PUT /v1/apps/` (hard)") == "put-v1apps-hard"


def test_the_check_catches_a_missing_heading_and_a_missing_file() -> None:
    assert unresolved([("x.py:1", "phase-api.md", "throttling")]) == []
    assert unresolved([("x.py:1", "phase-api.md", "no-such-heading")]) == [
        "x.py:1: docs/phase-api.md#no-such-heading"
    ]
    assert unresolved([("x.py:2", "nowhere.md", "throttling")]) == [
        "x.py:2: docs/nowhere.md#throttling"
    ]
    listed = citations_in('"""Teams (docs/phase-api.md#teams,\n    #no-such-one)."""', "y.py")
    assert listed == [
        ("y.py:1", "phase-api.md", "teams"),
        ("y.py:1", "phase-api.md", "no-such-one"),
    ]
    assert unresolved(listed) == ["y.py:1: docs/phase-api.md#no-such-one"]


def test_every_cited_anchor_exists() -> None:
    citations = cited()
    assert unresolved(citations) == []


def test_no_comment_cites_the_api_notes_outside_the_repository() -> None:
    """The Phase notes live in docs/phase-api.md; a file outside the repository is no citation."""
    stale = []
    for top in ("reconciler", "tests"):
        for path in sorted((ROOT / top).rglob("*.py")):
            for number, line in enumerate(path.read_text("utf-8").splitlines(), 1):
                if re.search(r"contracts/phase(-transcript)?\.md", line):
                    stale.append(f"{path.relative_to(ROOT)}:{number}")
    assert stale == []


def test_links_inside_the_docs_resolve() -> None:
    links = []
    for doc in sorted(DOCS.glob("*.md")):
        for number, line in enumerate(doc.read_text("utf-8").splitlines(), 1):
            for match in LINK.finditer(line):
                target = match.group(1) or doc.name
                links.append((f"docs/{doc.name}:{number}", target, match.group(2)))
    assert links  # the docs do link to their own sections
    assert unresolved(links) == []
