"""render: a Plan as text (Terraform-like, optionally ANSI-coloured), JSON or markdown (pure).

* ``render_text``: one block per change in execution order, ``+`` create, ``~`` update,
  ``-`` delete, ``…`` deferred; field-level ``before -> after``; sensitive values as
  ``(sensitive)``; then unmanaged objects, warnings, violations and a summary line. A plan that
  changes several providers is grouped per provider (a heading with its counts, then its
  changes in execution order; providers are independent, so their order is the name order).
  A delete that takes more with it says what on its line: ``(with 3 environments, all
  secrets, 2 member grants)`` (``Change.cascade``; markdown too, JSON has the field).
* ``render_json``: the documented ``reconciler.plan/v1`` form (``specs/plan.schema.json``),
  with ``providers``: the counts per provider (derived, outside the digest).
* ``render_markdown``: a pull-request comment: summary counts table (a row per provider when
  there are several), refusals, then changes grouped by provider and kind. Groups of more
  than ``FOLD`` changes are folded in ``<details>``; the whole text stays under
  ``MARKDOWN_LIMIT`` characters (GitHub's comment limit is 65,536), later groups being
  summarised by count when it would not.
* ``stats_lines``: ``plan --stats`` as lines, per provider (requests, retries, 429s waited out,
  read time, requests by route), then the wall time.

Nothing here sees a secret: sensitive values are fingerprints, masked by ``FieldDiff.to_dict``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from reconciler.model.resource import JSON
from reconciler.plan.change import Action, Change, FieldDiff
from reconciler.plan.plan import Plan

MARKDOWN_LIMIT = 60_000
FOLD = 10

SYMBOL = {Action.CREATE: "+", Action.UPDATE: "~", Action.DELETE: "-", Action.DEFERRED: "…"}
_ANSI = {
    Action.CREATE: "\x1b[32m",
    Action.UPDATE: "\x1b[33m",
    Action.DELETE: "\x1b[31m",
    Action.DEFERRED: "\x1b[36m",
}
_RESET = "\x1b[0m"
_BOLD = "\x1b[1m"
_RED = "\x1b[31m"


def value_text(value: JSON) -> str:
    """A value as it is shown in a plan: JSON (strings quoted), compact, key order kept."""
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def diff_text(d: FieldDiff) -> str:
    """``path: before -> after`` with sensitive values masked."""
    shown = d.to_dict()
    return f"{d.path}: {value_text(shown['before'])} -> {value_text(shown['after'])}"


def _create_lines(change: Change) -> list[str]:
    assert change.desired is not None
    attrs = change.desired.to_dict()["attributes"]
    assert isinstance(attrs, dict)
    return [f"{k}: {value_text(v)}" for k, v in attrs.items()]


def _counted(count: int | None, plural: str) -> str:
    """``3 environments``, ``1 environment``, ``all secrets`` (``None``: count unknown)."""
    if count is None:
        return f"all {plural}"
    if count != 1:
        return f"{count} {plural}"
    if plural.endswith("ies"):
        return f"1 {plural[:-3]}y"
    return f"1 {plural[:-1]}" if plural.endswith("s") else f"1 {plural}"


def cascade_text(change: Change) -> str:
    """``with 3 environments, all secrets, 2 member grants``: what a delete takes with it
    (``""`` when nothing, or when the provider gave objects but no counts: then by kind)."""
    counts = dict(change.cascade.counts)
    if not counts:
        for address in change.cascade.objects:
            kind = address.kind.replace("_", " ")
            noun = kind[:-1] + "ies" if kind.endswith("y") else kind + "s"
            counts[noun] = (counts.get(noun) or 0) + 1
    parts = [_counted(n, noun) for noun, n in counts.items() if n != 0]
    return "with " + ", ".join(parts) if parts else ""


def change_lines(change: Change) -> list[str]:
    """The indented detail lines of one change (fields, reason, details, warnings)."""
    lines: list[str] = []
    if change.action is Action.CREATE or (
        change.action is Action.DEFERRED and change.live is None and change.desired is not None
    ):
        lines += _create_lines(change)
    else:
        lines += [diff_text(d) for d in change.diffs]
    if change.reason:
        label = "cannot apply" if change.cannot_apply else "deferred"
        lines.append(f"{label}: {change.reason}")
    for key, value in sorted(change.details.items()):
        lines.append(f"{key}: {value_text(value)}")
    lines += [f"warning: {w}" for w in change.warnings]
    return lines


def _counts_text(c: Mapping[str, int]) -> str:
    return (
        f"{c['create']} to create, {c['update']} to update, {c['delete']} to delete, "
        f"{c['deferred']} deferred"
    )


def summary_line(plan: Plan) -> str:
    return f"Plan: {_counts_text(plan.counts())}."


def by_provider(changes: Iterable[Change]) -> dict[str, list[Change]]:
    """Changes per provider (provider names sorted), each list in the given order."""
    groups: dict[str, list[Change]] = {}
    for change in changes:
        groups.setdefault(change.address.provider, []).append(change)
    return dict(sorted(groups.items()))


def provider_counts(plan: Plan) -> dict[str, dict[str, int]]:
    """Number of changes per action (zeros included) for each provider the plan changes."""
    return {
        name: {a.value: sum(1 for c in changes if c.action is a) for a in Action}
        for name, changes in by_provider(plan.changes).items()
    }


def render_text(plan: Plan, color: bool = False) -> str:
    """The plan for a terminal or a CI log; ``color`` adds ANSI codes."""

    def paint(code: str, text: str) -> str:
        return f"{code}{text}{_RESET}" if color else text

    out: list[str] = []
    if plan.empty and not plan.changes and not plan.violations:
        out.append("No changes. Live state matches the spec.")
    else:
        if plan.empty:
            out.append("No changes to apply.")
        groups = by_provider(plan.changes)
        counts = provider_counts(plan)
        for name, changes in groups.items():
            if len(groups) > 1:
                out.append(paint(_BOLD, f"{name}: {_counts_text(counts[name])}"))
            for change in changes:
                head = f"  {SYMBOL[change.action]} {change.address}"
                if change.cannot_apply:
                    head += " (cannot be applied)"
                elif change.action is Action.DEFERRED:
                    head += " (deferred)"
                if cascade := cascade_text(change):
                    head += f" ({cascade})"
                out.append(paint(_ANSI[change.action], head))
                out += [f"      {line}" for line in change_lines(change)]
    if plan.unmanaged:
        out.append("")
        out.append("Unmanaged live objects (outside prune scopes, left alone):")
        out += [f"  ? {a}" for a in plan.unmanaged]
    if plan.warnings:
        out.append("")
        out += [paint(_ANSI[Action.UPDATE], f"Warning: {w}") for w in plan.warnings]
    if plan.violations:
        out.append("")
        out.append(paint(_BOLD + _RED, "Plan refused:"))
        out += [paint(_RED, f"  {v}") for v in plan.violations]
    if plan.changes:
        out.append("")
        out.append(paint(_BOLD, summary_line(plan)))
    return "\n".join(out) + "\n"


def plan_document(plan: Plan) -> dict[str, JSON]:
    """The ``reconciler.plan/v1`` document: ``Plan.to_dict`` plus ``providers`` (counts per
    provider; derived from the changes, so outside the digest like ``stats``)."""
    providers: dict[str, JSON] = {n: dict(c) for n, c in provider_counts(plan).items()}
    return {**plan.to_dict(), "providers": providers}


def render_json(plan: Plan) -> str:
    """The ``reconciler.plan/v1`` JSON document (indented, keys sorted)."""
    return json.dumps(plan_document(plan), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _md_code(text: str) -> str:
    """Inline code that survives backticks and pipes inside the text."""
    fence = "``" if "`" in text else "`"
    escaped = text.replace("|", "\\|")
    return f"{fence}{escaped}{fence}"


def _md_change(change: Change) -> list[str]:
    lines = [f"- `{SYMBOL[change.action]}` {_md_code(str(change.address))} {change.action.value}"]
    if cascade := cascade_text(change):
        lines[0] += f" ({cascade})"
    lines += [f"  - {_md_code(line)}" for line in change_lines(change)]
    return lines


def _groups(changes: Iterable[Change]) -> dict[tuple[str, str], list[Change]]:
    groups: dict[tuple[str, str], list[Change]] = {}
    for change in changes:
        groups.setdefault((change.address.provider, change.address.kind), []).append(change)
    return dict(sorted(groups.items()))


def _md_counts(plan: Plan) -> list[str]:
    """The summary table: one row, or a row per provider and a total when there are several."""
    actions = [a.value for a in Action]
    per_provider = provider_counts(plan)

    def row(c: Mapping[str, int]) -> str:
        return "| " + " | ".join(str(c[a]) for a in actions) + " |"

    if len(per_provider) <= 1:
        return ["| " + " | ".join(actions) + " |", "|---:" * len(actions) + "|", row(plan.counts())]
    lines = ["| provider | " + " | ".join(actions) + " |", "|---" + "|---:" * len(actions) + "|"]
    lines += [f"| {name} " + row(c) for name, c in per_provider.items()]
    lines.append("| **total** " + row(plan.counts()))
    return lines


def render_markdown(plan: Plan, limit: int = MARKDOWN_LIMIT) -> str:
    """A pull-request comment (see the module docstring); always shorter than ``limit``."""
    head = [f"### reconciler plan for `{plan.spec_path}`", "", *_md_counts(plan), ""]
    if plan.violations:
        head += ["**Plan refused:**", ""]
        head += [f"- {_md_code(str(v))}" for v in plan.violations]
        head.append("")
    if not plan.changes:
        head.append("No changes. Live state matches the spec.")
    tail: list[str] = []
    if plan.warnings:
        tail += ["", "**Warnings:**", ""] + [f"- {w}" for w in plan.warnings]
    if plan.unmanaged:
        tail += [
            "",
            f"<details><summary>{len(plan.unmanaged)} unmanaged live objects</summary>",
            "",
        ]
        tail += [f"- {_md_code(str(a))}" for a in plan.unmanaged]
        tail += ["", "</details>"]
    tail += ["", f"<sub>plan digest `{plan.digest[:16]}`</sub>", ""]

    text = "\n".join(head)
    closing = "\n".join(tail)
    budget = limit - len(closing) - 200
    omitted = 0
    for (provider, kind), changes in _groups(plan.changes).items():
        counts = ", ".join(
            f"{n} {a.value}" for a in Action if (n := sum(1 for ch in changes if ch.action is a))
        )
        title = f"{provider} · {kind} ({counts})"
        body = [line for ch in changes for line in _md_change(ch)]
        if len(changes) > FOLD:
            section = ["", f"<details><summary>{title}</summary>", "", *body, "", "</details>"]
        else:
            section = ["", f"#### {title}", "", *body]
        piece = "\n".join(section)
        if omitted or len(text) + len(piece) > budget:
            omitted += len(changes)
            continue
        text += "\n" + piece
    if omitted:
        text += (
            f"\n\n_{omitted} more changes not shown to keep this comment short; "
            "see the full plan (`reconciler plan --format json`)._"
        )
    return text + "\n" + closing


def stats_lines(stats: Mapping[str, Any]) -> list[str]:
    """``plan --stats`` (``engine.plan_stats``) as lines, grouped per provider::

    requests phase: 19 (retries 0, throttled 0; read 0.12s)
      GET /v1/apps/: 2
    requests memory: 1 (read 0.00s)
    wall time: 0.21s
    """
    lines: list[str] = []
    requests = stats.get("requests", {})
    providers = stats.get("providers", {})
    if isinstance(requests, Mapping):
        for name, count in requests.items():
            own = providers.get(name, {}) if isinstance(providers, Mapping) else {}
            own = own if isinstance(own, Mapping) else {}
            lines.append(f"requests {name}: {count}{_stats_detail(own)}")
            routes = own.get("routes", {})
            if isinstance(routes, Mapping):
                lines += [f"  {route}: {n}" for route, n in routes.items()]
    seconds = stats.get("seconds")
    if isinstance(seconds, int | float):
        lines.append(f"wall time: {float(seconds):.2f}s")
    return lines


def _stats_detail(own: Mapping[str, Any]) -> str:
    parts: Sequence[str] = [
        f"{key} {own[key]}" for key in ("retries", "throttled") if isinstance(own.get(key), int)
    ]
    text = ", ".join(parts)
    read = own.get("read_seconds")
    if isinstance(read, int | float):
        text += ("; " if text else "") + f"read {float(read):.2f}s"
    return f" ({text})" if text else ""
