"""The ``reconciler`` command line (typer). Commands and exit codes follow DESIGN.md.

Exit codes, the same for every command: 0 ok / no changes, 2 changes (``plan
--detailed-exitcode``) or drift (``drift``), 1 every error, usage errors included (a bad option
or value, a missing argument: one line on stderr naming the command's ``--help``; click's own
code 2 would read as "changes" in CI), 130 interrupted. Documents (plans, reports, schema,
tokens) go to stdout; progress, notes and errors to stderr.

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

import dataclasses
import json
import time
from pathlib import Path
from typing import Annotated

import typer

from reconciler import engine
from reconciler.cli.access_cmd import AccessFormat, access_body
from reconciler.cli.output import Output
from reconciler.cli.running import DriftFormat, PlanFormat, run
from reconciler.cli.running import open_session as _session
from reconciler.cli.running import refused as _refused
from reconciler.cli.running import render_plan as _render_plan
from reconciler.cli.saved import relative_to, saved_spec
from reconciler.cli.secret_cmd import secret_app
from reconciler.cli.state_cmd import state_app
from reconciler.cli.usage import RootGroup
from reconciler.errors import ReconcilerError
from reconciler.plan.plan import Plan
from reconciler.spec.load import paused_gc

app = typer.Typer(
    cls=RootGroup,
    name="reconciler",
    help="Declarative organisation access: plan and apply specs against live systems.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
_run = run  # every command's runner (state_cmd imports it from here)
app.add_typer(secret_app, name="secret")
app.add_typer(state_app, name="state")


# -- commands -----------------------------------------------------------------------------

PathArg = Annotated[Path, typer.Argument(help="Spec file or directory of *.yaml files.")]
AllowDeletes = Annotated[
    bool,
    typer.Option("--allow-deletes", help="Accept a plan beyond the spec's delete limits."),
]


@app.command()
def validate(
    path: PathArg,
    strict_env: Annotated[
        bool,
        typer.Option(
            "--strict-env",
            help="Unset ${env:…} variables (and RECONCILER_SECRET_KEY for !encrypted) are "
            "errors, as for plan and apply. Default: notes, so no credentials are needed.",
        ),
    ] = False,
) -> None:
    """Check the spec (schema, references, secret references); no network, no credentials,
    no state store."""

    def body(out: Output) -> int:
        from reconciler.spec.load import load_spec

        with paused_gc():
            spec = load_spec(path, strict_env=strict_env)
        for note in spec.notes:
            out.note(f"note: {note}")
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
        with paused_gc(), _session(path, out) as session:
            result = session.make_plan(allow_deletes=allow_deletes)
        if out_file is not None:
            # The spec path is kept relative to the plan file, so `apply --plan` finds the spec
            # from any working directory (the plan file travels with the repository checkout).
            result = dataclasses.replace(result, spec_path=relative_to(path, out_file.parent))
            engine.save_plan(result, out_file)
        with paused_gc():
            document = _render_plan(result, fmt, out)
        # A refused plan is rendered too (its violations are in the document): the PR comment
        # says why; the exit code (1) comes after the document is written.
        out.document(document)
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
            spec_path = path or saved_spec(plan_file, saved)
            with _session(spec_path, out, lock_timeout) as session:
                return _execute(session, saved, out, concurrency, allow_deletes, verify=True)
        if path is None:
            out.error("apply needs a spec PATH, or --plan FILE")
            return 1
        with _session(path, out, lock_timeout) as session:
            with paused_gc():
                planned = session.make_plan(allow_deletes=allow_deletes)
                document = _render_plan(planned, PlanFormat.text, out)
            out.document(document)
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

        with paused_gc(), _session(path, out) as session:
            _, report = session.drift()
            text = render_drift(report, fmt.value)
        if out_file is not None:
            try:
                out_file.write_text(text if text.endswith("\n") else text + "\n", "utf-8")
            except OSError as exc:
                raise ReconcilerError(f"{out_file}: cannot write ({exc.strerror})") from None
            out.note(f"Drift report written to {out_file}")
        else:
            out.document(text)
        # Drift = live departs from the spec: something apply would change, or a difference the
        # system cannot apply (graded changed); deferred changes are expected, not drift.
        return 2 if report.drift else 0

    _run(body)


@app.command()
def access(
    path: PathArg,
    fmt: Annotated[AccessFormat, typer.Option("--format", help="Report format.")] = (
        AccessFormat.text
    ),
    out_file: Annotated[Path | None, typer.Option("--out", help="Write the report here.")] = None,
    principal: Annotated[
        str | None, typer.Option("--principal", help="Only principals whose address has this.")
    ] = None,
    resource: Annotated[
        str | None, typer.Option("--resource", help="Only resources whose address has this.")
    ] = None,
) -> None:
    """Who can read what: effective access across every managed system (read-only)."""
    _run(lambda out: access_body(path, fmt, out_file, principal, resource, out))


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
        from reconciler.sandbox.host import Host, SandboxMount, SandboxServer

        def interrupted(signum: int, frame: object) -> None:
            raise KeyboardInterrupt

        # Ctrl-C and `kill` both stop cleanly (stores saved, ports released), also when started
        # in the background by a script, where SIGINT is ignored unless set back.
        signal.signal(signal.SIGTERM, interrupted)
        signal.signal(signal.SIGINT, signal.default_int_handler)

        def ready(mount: SandboxMount, server: SandboxServer) -> None:
            credentials = dict(server.credentials)
            out.sandbox_ready(mount.name, mount.title, server.url, credentials, mount.try_it)

        host = Host(registry.mounts(only), port=port, data_dir=data)
        try:
            host.start(on_ready=ready)
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


def main() -> None:
    """Console entry point."""
    app()
