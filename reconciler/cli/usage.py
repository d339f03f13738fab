"""The root command group: every usage error exits 1 with one line on stderr.

click exits 2 on a usage error (an unknown option, a bad value, a missing argument), the code
that means "changes" or "drift" here, so a typo in a nightly job would read as drift and pass a
``[ "$code" != 1 ]`` check. ``RootGroup.main`` runs click without its standalone handling and
maps: usage and other click errors -> 1 (``reconciler drift: Invalid value for '--format': …
(see reconciler drift --help)``), ``reconciler`` alone -> its help (click prints it) and 1, an
abort in a click prompt -> 130; a command's own exit code is passed through.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import typer
from typer.core import TyperGroup

from reconciler.cli.output import Output

try:  # typer >= 0.20 carries its own copy of click; older versions use click itself
    from typer._click import exceptions as click_errors
except ImportError:  # pragma: no cover - depends on the installed typer
    from click import exceptions as click_errors  # type: ignore[no-redef]


class RootGroup(TyperGroup):
    """The root command group: usage errors exit 1 with one line on stderr (see the module
    docstring); everything else runs as click runs it."""

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            code = super().main(args, prog_name, complete_var, False, **extra)
        except click_errors.NoArgsIsHelpError as exc:  # `reconciler` alone: help shown, exit 1
            where = exc.ctx.command_path if exc.ctx is not None else "reconciler"
            Output().error(f"{where}: missing command (see {where} --help)")
            code = 1
        except click_errors.ClickException as exc:
            Output().error(_usage_line(exc))
            code = 1
        except typer.Abort:  # Ctrl-C or end of input in a click prompt
            Output().error("interrupted")
            code = 130
        sys.exit(code if isinstance(code, int) else 0)


def _usage_line(exc: click_errors.ClickException) -> str:
    """``reconciler drift: Invalid value for '--format': … (see reconciler drift --help)``."""
    message = " ".join(exc.format_message().split())
    ctx = getattr(exc, "ctx", None)
    if isinstance(exc, click_errors.UsageError) and ctx is not None:
        return f"{ctx.command_path}: {message} (see {ctx.command_path} --help)"
    return f"reconciler: {message}"
