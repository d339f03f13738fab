"""``reconciler access``: the effective-access report (``plan.access``) of a spec set.

It reads live state with exactly the reads of ``plan`` (``Session.refresh``), gathers the state
store's history (revocations apply recorded on E2EE environments, when write-only values were
last sent) and renders the report. Nothing is written to any system.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

from reconciler.cli.output import Output
from reconciler.cli.running import open_session
from reconciler.engine import Session
from reconciler.errors import ReconcilerError
from reconciler.model.resource import JSON
from reconciler.plan.access import AccessFn, AccessReport, History, build_report
from reconciler.plan.access_render import render_access
from reconciler.providers.registry import plugins
from reconciler.spec.load import paused_gc
from reconciler.state.store import StateStore


class AccessFormat(StrEnum):
    text = "text"
    json = "json"
    markdown = "markdown"
    html = "html"


def history(store: StateStore) -> History:
    """The store's records the report reads (plain data; no secret is kept there)."""
    revocations: dict[str, list[Mapping[str, JSON]]] = {}
    secrets: dict[tuple[str, str], Mapping[str, JSON] | None] = {}
    for entry in store.entries():
        address = str(entry.address)
        rows = entry.records.get("revocations")
        if isinstance(rows, list):
            revocations[address] = [r for r in rows if isinstance(r, Mapping)]
        sent = entry.records.get("secrets_set")
        sent = sent if isinstance(sent, Mapping) else {}
        for attribute in entry.fingerprints:
            when = sent.get(attribute)
            secrets[(address, attribute)] = when if isinstance(when, Mapping) else None
    return History(revocations, secrets)


def report_of(
    session: Session, now: datetime, *, principal: str | None = None, resource: str | None = None
) -> AccessReport:
    """The report of an open session: the reads of ``plan`` (``Session.refresh``), once."""
    derive: dict[str, AccessFn] = {
        name: plugin.access for name, plugin in plugins().items() if plugin.access is not None
    }
    live = session.refresh()
    return build_report(
        session.spec.desired,
        live,
        derive,
        history(session.store),
        now,
        principal=principal,
        resource=resource,
    )


def access_body(
    path: Path,
    fmt: AccessFormat,
    out_file: Path | None,
    principal: str | None,
    resource: str | None,
    out: Output,
) -> int:
    """Read, build and render; exit 0 (a report is not a verdict)."""
    with paused_gc(), open_session(path, out) as session:
        report = report_of(session, datetime.now(UTC), principal=principal, resource=resource)
    text = render_access(report, fmt.value)
    if out_file is None:
        out.document(text)
        return 0
    try:
        out_file.write_text(text if text.endswith("\n") else text + "\n", "utf-8")
    except OSError as exc:
        raise ReconcilerError(f"{out_file}: cannot write ({exc.strerror})") from None
    out.note(f"Access report written to {out_file}")
    return 0
