"""Output: the only module that prints (or prompts). Everything the CLI shows goes through here.

Streams: documents the user may pipe (a plan, a drift report, a schema, a token) go to stdout
exactly as rendered; errors, progress notes and statistics go to stderr, so
``reconciler plan --format json > plan.json`` stays valid JSON. Every message is printed
without rich markup interpretation (a ``[rule]`` in a violation is text, not a style), and
every error passes through secret redaction first.
"""

from __future__ import annotations

import getpass
import os
import sys
import traceback
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from reconciler.apply.result import ApplyResult, ChangeResult, Event, Status
from reconciler.secrets.redact import redact
from reconciler.secrets.value import Secret

_STATUS_STYLE = {
    Status.APPLIED: "green",
    Status.FAILED: "bold red",
    Status.SKIPPED: "yellow",
    Status.DEFERRED: "cyan",
}


class Output:
    """Printing for one command run. ``secrets`` are masked in every error message."""

    def __init__(self, secrets: Iterable[Secret] = ()) -> None:
        self.secrets: list[Secret] = list(secrets)
        # soft_wrap: never insert line breaks into addresses, paths or JSON.
        self.out = Console(highlight=False, soft_wrap=True)
        self.err = Console(stderr=True, highlight=False, soft_wrap=True)

    # -- capabilities ---------------------------------------------------------------------

    @staticmethod
    def color() -> bool:
        """True when stdout is a terminal and the user did not ask for no colour."""
        return sys.stdout.isatty() and "NO_COLOR" not in os.environ

    @staticmethod
    def interactive() -> bool:
        return sys.stdin.isatty() and sys.stdout.isatty()

    # -- documents (stdout) ---------------------------------------------------------------

    def document(self, text: str) -> None:
        """A rendered document, written byte for byte (ANSI colour codes included)."""
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        sys.stdout.flush()

    def line(self, text: str, style: str | None = None) -> None:
        self.out.print(Text(text, style=style or ""))

    # -- notes and errors (stderr) --------------------------------------------------------

    def note(self, text: str, style: str | None = None) -> None:
        self.err.print(Text(self._redact(text), style=style or ""))

    def error(self, text: str) -> None:
        """One error (possibly several lines, e.g. every spec error), redacted."""
        self.err.print(Text(self._redact(text), style="red"))

    def internal_error(self, exc: BaseException) -> None:
        """An unexpected exception: type and redacted message; traceback only when debugging."""
        if os.environ.get("RECONCILER_DEBUG") == "1":
            text = "".join(traceback.format_exception(exc))
            self.err.print(Text(self._redact(text), style="dim"))
        self.error(f"internal error: {type(exc).__name__}: {exc}")

    def _redact(self, text: str) -> str:
        return redact(text, self.secrets)

    # -- plan extras ----------------------------------------------------------------------

    def stats(self, stats: Mapping[str, Any]) -> None:
        """``--stats``: per provider (requests, retries, 429s, read time, routes), then the wall
        time (to stderr); the lines are made by ``plan.render.stats_lines``."""
        from reconciler.plan.render import stats_lines

        for line in stats_lines(stats):
            self.note(line)

    # -- apply ----------------------------------------------------------------------------

    @contextmanager
    def apply_progress(self, total: int) -> Iterator[Any]:
        """Yields the ``on_event`` callback of an apply.

        Progress is on stderr (stdout holds documents only: the plan, the apply report). On a
        terminal: a rich progress bar plus a line per finished change. Otherwise (CI): one plain
        line per finished change, ``applied phase.app.x (0.12s)``.
        """
        if not self.err.is_terminal:

            def plain(event: Event) -> None:
                if event.kind == "finished" and event.result is not None:
                    self.note(event.result.line())

            yield plain
            return
        progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self.err,
            transient=True,
        )
        task = progress.add_task("applying", total=total)

        def rich_event(event: Event) -> None:
            if event.kind == "started":
                progress.update(task, description=f"applying {event.change.address}")
            elif event.result is not None:
                progress.console.print(self._result_text(event.result))
                progress.advance(task)

        with progress:
            yield rich_event

    def _result_text(self, result: ChangeResult) -> Text:
        return Text(self._redact(result.line()), style=_STATUS_STYLE[result.status])

    def apply_report(self, result: ApplyResult) -> None:
        """The apply's report (stdout, a document): summary, then every change that did not
        apply (failed, skipped, deferred)."""
        counts = result.counts()
        summary = ", ".join(f"{counts[s.value]} {s.value}" for s in Status)
        verdict = "Apply complete" if result.ok else "Apply failed"
        self.line(f"{verdict}: {summary} ({result.seconds:.2f}s)", "bold" if result.ok else "red")
        for line in result.provider_lines():  # several providers: a summary line for each
            self.line(f"  {line}")
        for status in (Status.FAILED, Status.SKIPPED, Status.DEFERRED):
            for r in result.of_status(status):
                self.out.print(self._result_text(r))
        if counts[Status.DEFERRED.value]:
            self.line("Deferred changes wait for pending objects; a later apply completes them.")

    # -- sandbox --------------------------------------------------------------------------

    def sandbox_ready(
        self, name: str, title: str, url: str, credentials: Mapping[str, str], try_it: str
    ) -> None:
        """How to reach one running sandbox: shell ``export`` lines and a command to try."""
        self.note(f"{name}: {title}, listening on {url}. In another shell:", "green")
        for variable, value in credentials.items():
            self.line(f"export {variable}={_shell_quote(value)}")
        if try_it:
            self.line(try_it)

    # -- prompts --------------------------------------------------------------------------

    def confirm(self, question: str) -> bool:
        """Ask on the terminal; only the exact answer ``yes`` confirms."""
        self.err.print(Text(question, style="bold"))
        try:
            answer = input("  Enter a value: ")
        except EOFError:
            return False
        return answer.strip() == "yes"

    def read_secret(self) -> str:
        """The plaintext to encrypt: stdin when piped, else a hidden prompt (never echoed)."""
        if not sys.stdin.isatty():
            return sys.stdin.read().rstrip("\r\n")
        return getpass.getpass("Value to encrypt (hidden): ")


def _shell_quote(value: str) -> str:
    """Quote for a POSIX shell only when needed, so plain values stay copy-paste friendly."""
    import shlex

    return shlex.quote(value)
