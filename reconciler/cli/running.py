"""How every command runs: its error handling and exit code, the session it opens, how a plan
is rendered (see the module docstring of ``reconciler.cli.app`` for the contract)."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path

import typer

from reconciler import engine
from reconciler.cli.output import Output
from reconciler.errors import PlanRefused, ReconcilerError, StalePlanError
from reconciler.plan.plan import Plan


class PlanFormat(StrEnum):
    text = "text"
    json = "json"
    markdown = "markdown"


class DriftFormat(StrEnum):
    text = "text"
    json = "json"
    markdown = "markdown"
    html = "html"


# -- error handling -----------------------------------------------------------------------


def run(body: Callable[[Output], int]) -> None:
    """Run a command body and exit with its code (see the module docstring)."""
    out = Output()
    try:
        with command_logging():
            code = body(out)
    except StalePlanError as exc:
        out.error(str(exc))
        if exc.replan is not None:
            out.note("The plan now would be:")
            out.document(render_plan(exc.replan, PlanFormat.text, out))
        out.error("Nothing was changed. Review the new plan and save it again.")
        code = 1
    except ReconcilerError as exc:
        out.error(str(exc))
        code = 1
    except KeyboardInterrupt:
        out.error("interrupted")
        code = 130
    except Exception as exc:
        out.internal_error(exc)
        code = 1
    raise typer.Exit(code)


@contextmanager
def command_logging() -> Iterator[None]:
    """Under RECONCILER_LOG=DEBUG|INFO|WARNING|ERROR, log records at that level go to the
    command's stderr (never stdout, where a plan or report may be printed) while the command
    runs; the handler and the root level are put back afterwards, so a process that runs
    several commands (tests, embedding) never keeps writing to a stream that has been closed."""
    level = os.environ.get("RECONCILER_LOG", "").upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        yield
        return
    root = logging.getLogger()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler.setLevel(level)
    saved_level = root.level
    root.addHandler(handler)
    root.setLevel(level)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(saved_level)


@contextmanager
def open_session(
    path: Path, out: Output, lock_timeout: float | None = None
) -> Iterator[engine.Session]:
    with engine.Session(path) as session:
        if lock_timeout is not None:  # else RECONCILER_LOCK_TIMEOUT, read by open_store
            session.store.lock_timeout = lock_timeout
        out.secrets.extend(session.spec.secrets)
        yield session


def render_plan(plan: Plan, fmt: PlanFormat, out: Output) -> str:
    from reconciler.plan import render

    if fmt is PlanFormat.json:
        return render.render_json(plan)
    if fmt is PlanFormat.markdown:
        return render.render_markdown(plan)
    return render.render_text(plan, out.color())


def refused(plan: Plan, out: Output) -> int:
    out.error(str(PlanRefused(plan.violations)))
    return 1
