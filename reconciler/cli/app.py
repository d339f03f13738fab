"""The ``reconciler`` command line (typer). Commands and exit codes follow DESIGN.md.

Every command body returns its exit code; ``_run`` turns errors into one-line messages
(``file:line:col: message`` or ``address: message``), never a traceback:

* ``ReconcilerError``: ``str(exc)``, redacted, exit 1. A stale saved plan also shows the
  re-plan's diff; a refused plan shows its violations.
* anything else: ``internal error: <type>: <message>`` (redacted), exit 1; set
  ``RECONCILER_DEBUG=1`` to see the traceback.
* Ctrl-C: ``interrupted``, exit 130.

``RECONCILER_LOG=debug|info|warning`` logs to standard error (requests, retries, console
operations; never a secret).

Only ``cli/output.py`` prints.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from reconciler import engine
from reconciler.cli.output import Output
from reconciler.cli.state_cmd import state_app
from reconciler.errors import PlanRefused, ReconcilerError, StalePlanError
from reconciler.plan.plan import Plan
from reconciler.secrets.value import Secret

app = typer.Typer(
    name="reconciler",
    help="Declarative organisation access: plan and apply specs against live systems.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
secret_app = typer.Typer(
    help="Encrypt spec values (!encrypted) and make keys.", no_args_is_help=True
)
app.add_typer(secret_app, name="secret")
app.add_typer(state_app, name="state")


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


def _run(body: Callable[[Output], int]) -> None:
    """Run a command body and exit with its code (see the module docstring)."""
    out = Output()
    level = os.environ.get("RECONCILER_LOG", "").upper()
    if level in ("DEBUG", "INFO", "WARNING", "ERROR"):
        logging.basicConfig(
            level=level, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s", force=True
        )
    try:
        code = body(out)
    except StalePlanError as exc:
        out.error(str(exc))
        if exc.replan is not None:
            out.note("The plan now would be:")
            out.document(_render_plan(exc.replan, PlanFormat.text, out))
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
def _session(
    path: Path, out: Output, lock_timeout: float | None = None
) -> Iterator[engine.Session]:
    with engine.Session(path) as session:
        if lock_timeout is not None:  # else RECONCILER_LOCK_TIMEOUT, read by open_store
            session.store.lock_timeout = lock_timeout
        out.secrets.extend(engine.spec_secrets(session.spec))
        yield session


def _render_plan(plan: Plan, fmt: PlanFormat, out: Output) -> str:
    from reconciler.plan import render

    if fmt is PlanFormat.json:
        return render.render_json(plan)
    if fmt is PlanFormat.markdown:
        return render.render_markdown(plan)
    return render.render_text(plan, out.color())


def _refused(plan: Plan, out: Output) -> int:
    out.error(str(PlanRefused(plan.violations)))
    return 1


# -- commands -----------------------------------------------------------------------------

PathArg = Annotated[Path, typer.Argument(help="Spec file or directory of *.yaml files.")]
AllowDeletes = Annotated[
    bool,
    typer.Option("--allow-deletes", help="Accept a plan beyond the spec's delete limits."),
]


@app.command()
def validate(path: PathArg) -> None:
    """Check the spec (schema, references, secret references); no network."""

    def body(out: Output) -> int:
        from reconciler.spec.load import load_spec
        from reconciler.state.open import open_store

        store = open_store(path)
        try:
            spec = load_spec(path, fingerprint_key=store.fingerprint_key)
        finally:
            store.close()
        out.note(f"{path}: valid ({len(spec.desired)} objects)", "green")
        return 0

    _run(body)


@app.command()
def plan(
    path: PathArg,
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Also save the plan (JSON) for `apply --plan`.")
    ] = None,
    fmt: Annotated[PlanFormat, typer.Option("--format", help="Output format.")] = PlanFormat.text,
    stats: Annotated[bool, typer.Option("--stats", help="Show requests and wall time.")] = False,
    detailed_exitcode: Annotated[
        bool, typer.Option("--detailed-exitcode", help="Exit 2 when there are changes.")
    ] = False,
    allow_deletes: AllowDeletes = False,
) -> None:
    """Read live state, diff it against the spec and print the ordered plan."""

    def body(out: Output) -> int:
        with _session(path, out) as session:
            result = session.make_plan(allow_deletes=allow_deletes)
        if out_file is not None:
            engine.save_plan(result, out_file)
        out.document(_render_plan(result, fmt, out))
        if stats:
            out.stats(result.stats)
        if result.refused:
            return _refused(result, out)
        if out_file is not None:
            out.note(f"Plan saved to {out_file}; apply it with: reconciler apply --plan {out_file}")
        if result.empty:
            return 0
        return 2 if detailed_exitcode else 0

    _run(body)


@app.command()
def apply(
    path: Annotated[
        Path | None, typer.Argument(help="Spec file or directory (optional with --plan).")
    ] = None,
    plan_file: Annotated[
        Path | None,
        typer.Option("--plan", help="Apply this saved plan (verified, not recomputed)."),
    ] = None,
    auto_approve: Annotated[
        bool, typer.Option("--auto-approve", help="Do not ask for confirmation.")
    ] = False,
    allow_deletes: AllowDeletes = False,
    concurrency: Annotated[
        int, typer.Option("--concurrency", min=1, max=32, help="Changes applied in parallel.")
    ] = 4,
    lock_timeout: Annotated[
        float | None,
        typer.Option(
            "--lock-timeout",
            min=0,
            help="Seconds to wait for a target locked by another apply (default "
            "RECONCILER_LOCK_TIMEOUT, else 0: fail at once naming the holder).",
        ),
    ] = None,
) -> None:
    """Apply the spec (plan, confirm, execute) or a saved plan."""

    def body(out: Output) -> int:
        if plan_file is not None:
            saved = engine.read_plan(plan_file)
            if saved.refused:
                return _refused(saved, out)
            with _session(path or Path(saved.spec_path), out, lock_timeout) as session:
                return _execute(session, saved, out, concurrency, allow_deletes, verify=True)
        if path is None:
            out.error("apply needs a spec PATH, or --plan FILE")
            return 1
        with _session(path, out, lock_timeout) as session:
            planned = session.make_plan(allow_deletes=allow_deletes)
            out.document(_render_plan(planned, PlanFormat.text, out))
            if planned.refused:
                return _refused(planned, out)
            if planned.empty:
                return _execute(session, planned, out, concurrency, allow_deletes)
            if not auto_approve:
                if not out.interactive():
                    out.error(
                        "apply: not applying without approval in a non-interactive session; "
                        "pass --auto-approve, or save a reviewed plan with `plan --out FILE` "
                        "and run `apply --plan FILE`"
                    )
                    return 1
                if not out.confirm("Apply these changes? Only 'yes' is accepted."):
                    out.error("apply cancelled; nothing was changed")
                    return 1
            # Time passed while the user reviewed: check the plan still holds before applying.
            return _execute(
                session, planned, out, concurrency, allow_deletes, verify=not auto_approve
            )

    _run(body)


def _execute(
    session: engine.Session,
    plan: Plan,
    out: Output,
    concurrency: int,
    allow_deletes: bool,
    verify: bool = False,
) -> int:
    """Apply ``plan`` (verified first when it was reviewed earlier) and report every change."""
    if plan.empty:
        out.line("No changes to apply.")
        if not plan.changes:
            return 0
    with out.apply_progress(len(plan.changes)) as on_event:
        if verify:
            result = session.apply_saved(
                plan, concurrency=concurrency, on_event=on_event, allow_deletes=allow_deletes
            )
        else:
            result = session.apply(plan, concurrency=concurrency, on_event=on_event)
    out.apply_report(result)
    return 0 if result.ok else 1


@app.command()
def drift(
    path: PathArg,
    fmt: Annotated[DriftFormat, typer.Option("--format", help="Report format.")] = DriftFormat.text,
    out_file: Annotated[Path | None, typer.Option("--out", help="Write the report here.")] = None,
) -> None:
    """Report drift between the spec and live state, graded. Exit 2 when there is drift."""

    def body(out: Output) -> int:
        from reconciler.plan.drift import render_drift

        with _session(path, out) as session:
            fresh, report = session.drift()
        text = render_drift(report, fmt.value)
        if out_file is not None:
            try:
                out_file.write_text(text if text.endswith("\n") else text + "\n", "utf-8")
            except OSError as exc:
                raise ReconcilerError(f"{out_file}: cannot write ({exc.strerror})") from None
            out.note(f"Drift report written to {out_file}")
        else:
            out.document(text)
        # Drift = the spec would change something live; deferred changes are expected, not drift.
        return 0 if fresh.empty else 2

    _run(body)


@app.command()
def export(
    provider: Annotated[str, typer.Option("--provider", help="Provider to export.")],
    path_out: Annotated[Path, typer.Argument(help="Spec file to write.")],
) -> None:
    """Write a spec from a provider's live state (adoption); planning it gives no changes."""

    def body(out: Output) -> int:
        engine.export(provider, path_out)
        out.note(f"Wrote {path_out}; plan it to check that it gives no changes.", "green")
        return 0

    _run(body)


@app.command()
def sandbox(
    port: Annotated[
        int,
        typer.Option(
            "--port",
            help="Port of the first system; the next ones get N+1, N+2… (0 = any free port).",
        ),
    ] = 0,
    data: Annotated[
        Path | None,
        typer.Option("--data", help="Keep the sandboxes' data in this directory (shared)."),
    ] = None,
    only: Annotated[
        list[str] | None,
        typer.Option("--only", help="Serve only this system (repeatable); default: all."),
    ] = None,
) -> None:
    """Serve every system's sandbox API locally (one process, one port each), print how to
    reach them (export lines, a command to try), until Ctrl-C."""

    def body(out: Output) -> int:
        import signal

        from reconciler.sandbox import registry
        from reconciler.sandbox.host import Host

        def interrupted(signum: int, frame: object) -> None:
            raise KeyboardInterrupt

        # Ctrl-C and `kill` both stop cleanly (stores saved, ports released), also when started
        # in the background by a script, where SIGINT is ignored unless set back.
        signal.signal(signal.SIGTERM, interrupted)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        host = Host(registry.mounts(only), port=port, data_dir=data)
        host.start()
        try:
            for mount in host.mounts:
                server = host.servers[mount.name]
                out.sandbox_ready(
                    mount.name, mount.title, server.url, dict(server.credentials), mount.try_it
                )
            out.note("Ctrl-C to stop.")
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            out.note("stopping sandbox")
        finally:
            host.stop()
        return 0

    _run(body)


@app.command()
def schema() -> None:
    """Print the JSON Schema of the spec format."""

    def body(out: Output) -> int:
        from reconciler.spec.schema import json_schema

        out.document(json.dumps(json_schema(), indent=2, ensure_ascii=False))
        return 0

    _run(body)


@secret_app.command("encrypt")
def secret_encrypt() -> None:
    """Encrypt a value (stdin, or a hidden prompt) with RECONCILER_SECRET_KEY; print the token."""

    def body(out: Output) -> int:
        from reconciler.secrets.fernet import encrypt

        plaintext = out.read_secret()
        out.secrets.append(Secret(plaintext))
        if not plaintext:
            out.error("secret encrypt: empty value")
            return 1
        out.document(f"!encrypted {encrypt(plaintext)}")
        return 0

    _run(body)


@secret_app.command("keygen")
def secret_keygen() -> None:
    """Print a new key for RECONCILER_SECRET_KEY."""

    def body(out: Output) -> int:
        from reconciler.secrets.fernet import generate_key

        out.document(generate_key())
        return 0

    _run(body)


def main() -> None:
    """Console entry point."""
    app()
