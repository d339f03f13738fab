"""drift: a graded report of how live state departs from the spec, made from a plan (pure).

Grades (one finding per object):

* ``changed``   the object exists but was changed outside git (apply would update it);
* ``missing``   the spec declares it, live has no such object (apply would create it);
* ``unmanaged`` a live object the spec does not declare: inside a prune scope apply would
  delete it (``action: delete``); outside every prune scope it is left alone (``action: none``)
  and is not counted as drift;
* ``pending``   it waits for a human step (an invite not accepted) and is completed by a later
  run; not counted as drift.

A change the system cannot apply (``Change.cannot_apply``: a field of a create-only API) is
graded ``changed`` with action ``none``: drift that apply leaves alone (change it in the system).

``drift`` is true when apply would change something. Renderers: text, json
(``specs/drift.schema.json``), markdown, and html (one self-contained file, no scripts, no
external resources). Values come from the plan and are already masked.
"""

from __future__ import annotations

import html
import json
from collections import Counter
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import quote

from reconciler.model.resource import JSON
from reconciler.plan.access import principals_of
from reconciler.plan.change import Action, Change
from reconciler.plan.plan import Plan
from reconciler.plan.render import change_lines

FORMAT = "reconciler.drift/v1"


class Grade(StrEnum):
    CHANGED = "changed"
    MISSING = "missing"
    UNMANAGED = "unmanaged"
    PENDING = "pending"


_GRADE_OF = {
    Action.UPDATE: Grade.CHANGED,
    Action.CREATE: Grade.MISSING,
    Action.DELETE: Grade.UNMANAGED,
    Action.DEFERRED: Grade.PENDING,
}


@dataclass(frozen=True)
class Finding:
    """One object's drift: its grade, what apply would do, and masked detail lines."""

    grade: Grade
    address: str
    action: str
    details: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, JSON]:
        return {
            "grade": self.grade.value,
            "address": self.address,
            "action": self.action,
            "details": list(self.details),
        }


@dataclass(frozen=True)
class DriftReport:
    """Findings in grade order then address order; ``generated_at`` is an ISO instant or None."""

    spec_path: str
    findings: tuple[Finding, ...]
    plan_digest: str
    generated_at: str | None = None

    @property
    def drift(self) -> bool:
        """True when apply would change something live."""
        return any(
            (f.action != "none" and f.grade is not Grade.PENDING) or f.grade is Grade.CHANGED
            for f in self.findings
        )

    def counts(self) -> dict[str, int]:
        c = Counter(f.grade.value for f in self.findings)
        return {g.value: c.get(g.value, 0) for g in Grade}

    def to_dict(self) -> dict[str, JSON]:
        return {
            "format": FORMAT,
            "spec": self.spec_path,
            "generated_at": self.generated_at,
            "plan_digest": self.plan_digest,
            "drift": self.drift,
            "counts": dict(self.counts()),
            "findings": [f.to_dict() for f in self.findings],
        }


def _finding(change: Change) -> Finding:
    action = "none" if change.action is Action.DEFERRED else change.action.value
    grade = _GRADE_OF[change.action]
    if change.action is Action.DEFERRED and change.desired is None:
        grade = Grade.UNMANAGED  # a provider's note on a live object it must leave alone
    elif change.cannot_apply:
        grade = Grade.CHANGED  # drift apply cannot fix
    return Finding(grade, str(change.address), action, tuple(change_lines(change)))


def from_plan(plan: Plan, generated_at: str | None = None) -> DriftReport:
    """Grade every change of ``plan`` and every unmanaged object it lists."""
    findings = [_finding(c) for c in plan.changes]
    findings += [Finding(Grade.UNMANAGED, str(a), "none") for a in plan.unmanaged]
    rank = {g: i for i, g in enumerate(Grade)}
    findings.sort(key=lambda f: (rank[f.grade], f.address))
    return DriftReport(plan.spec_path, tuple(findings), plan.digest, generated_at)


_TITLE = {
    Grade.CHANGED: "Changed outside git",
    Grade.MISSING: "Missing",
    Grade.UNMANAGED: "Unmanaged",
    Grade.PENDING: "Pending",
}


def _headline(report: DriftReport) -> str:
    if not report.findings:
        return "No drift: live state matches the spec."
    counts = ", ".join(f"{n} {g}" for g, n in report.counts().items() if n)
    state = "Drift found" if report.drift else "No drift"
    return f"{state}: {counts}."


def render_text(report: DriftReport) -> str:
    lines = [f"Drift report for {report.spec_path}"]
    if report.generated_at:
        lines[0] += f" ({report.generated_at})"
    for grade in Grade:
        found = [f for f in report.findings if f.grade is grade]
        if not found:
            continue
        lines += ["", f"{_TITLE[grade]} ({len(found)}):"]
        for f in found:
            lines.append(f"  {f.address}  [{f.action}]")
            lines += [f"      {d}" for d in f.details]
    lines += ["", _headline(report)]
    return "\n".join(lines) + "\n"


def render_markdown(report: DriftReport) -> str:
    c = report.counts()
    lines = [
        f"### reconciler drift report for `{report.spec_path}`",
        "",
        "| " + " | ".join(g.value for g in Grade) + " |",
        "|" + "---:|" * len(Grade),
        "| " + " | ".join(str(c[g.value]) for g in Grade) + " |",
        "",
        _headline(report),
    ]
    for grade in Grade:
        found = [f for f in report.findings if f.grade is grade]
        if not found:
            continue
        lines += ["", f"#### {_TITLE[grade]} ({len(found)})", ""]
        for f in found:
            lines.append(f"- `{f.address}` ({f.action})")
            lines += [f"  - `{d}`" for d in f.details]
    return "\n".join(lines) + "\n"


_CSS = """
body{font-family:system-ui,sans-serif;margin:2rem;color:#1f2328}
h1{font-size:1.4rem} table{border-collapse:collapse;margin:1rem 0}
td,th{border:1px solid #d0d7de;padding:.3rem .7rem;text-align:left}
.changed{color:#9a6700}.missing{color:#cf222e}.unmanaged{color:#6e7781}.pending{color:#0969da}
code{background:#f6f8fa;padding:.1rem .3rem;border-radius:4px} ul{margin:.2rem 0}
"""


def render_html(report: DriftReport, access_href: str = "access.html") -> str:
    """One self-contained HTML page (inline CSS only; every value escaped). Each finding about
    a principal links to its row in the access report at ``access_href`` (``reconciler access
    --format html --out access.html`` beside this page)."""
    e = html.escape
    c = report.counts()
    rows = "".join(
        f"<tr><td class='{g.value}'>{e(_TITLE[g])}</td><td>{c[g.value]}</td></tr>" for g in Grade
    )
    parts = [
        "<!DOCTYPE html>",
        "<html lang='en'><head><meta charset='utf-8'>",
        f"<title>Drift report: {e(report.spec_path)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>Drift report for <code>{e(report.spec_path)}</code></h1>",
    ]
    if report.generated_at:
        parts.append(f"<p>Generated {e(report.generated_at)}</p>")
    parts.append(f"<p><strong>{e(_headline(report))}</strong></p>")
    parts.append(f"<table><tr><th>grade</th><th>objects</th></tr>{rows}</table>")
    for grade in Grade:
        found = [f for f in report.findings if f.grade is grade]
        if not found:
            continue
        parts.append(f"<h2 class='{grade.value}'>{e(_TITLE[grade])} ({len(found)})</h2><ul>")
        for f in found:
            details = "".join(f"<li><code>{e(d)}</code></li>" for d in f.details)
            who = "".join(
                f" <a href='{e(access_href)}#principal={quote(p)}'>access of {e(p)}</a>"
                for p in principals_of(f.address)
            )
            parts.append(
                f"<li><code>{e(f.address)}</code> ({e(f.action)}){who}"
                + (f"<ul>{details}</ul>" if details else "")
                + "</li>"
            )
        parts.append("</ul>")
    parts.append(f"<p><small>plan digest {e(report.plan_digest[:16])}</small></p>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def render_json(report: DriftReport) -> str:
    return json.dumps(report.to_dict(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def render_drift(report: DriftReport, fmt: str) -> str:
    """Render in ``fmt``: text, json, markdown or html."""
    renderers = {
        "text": render_text,
        "json": render_json,
        "markdown": render_markdown,
        "html": render_html,
    }
    if fmt not in renderers:
        raise ValueError(f"unknown drift format {fmt!r}")
    return renderers[fmt](report)
