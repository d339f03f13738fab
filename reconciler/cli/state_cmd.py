"""``reconciler state``: list, show, move and migrate the state of a spec set.

The state is found as every other command finds it: ``RECONCILER_STATE`` (a SQLite path or a
``postgresql://`` URL), else ``.reconciler/state.db`` beside ``--spec`` (default: the current
directory). Documents (the listing, an entry as JSON) go to stdout; notes and errors to stderr.
Nothing here prints a secret: the state holds none, and fingerprints are keyed HMACs.

``state migrate --to postgresql://…`` copies a SQLite state into PostgreSQL in one transaction
(ids, fingerprints and records unchanged) and seals the fingerprint key there with
``RECONCILER_SECRET_KEY``, so runners using the database compute the same fingerprints the
SQLite state was written with. The SQLite file is left as it was.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from reconciler.address import Address
from reconciler.cli.output import Output
from reconciler.errors import ReconcilerError, StateError
from reconciler.state.store import StateStore

state_app = typer.Typer(
    help="Inspect and move the state store (ids, fingerprints, records).", no_args_is_help=True
)

SpecOption = Annotated[
    Path,
    typer.Option(
        "--spec", help="Spec file or directory whose state to use (when RECONCILER_STATE is unset)."
    ),
]


def _run(body: Callable[[Output], int]) -> None:
    # Imported late: app.py registers this module, so it cannot be imported at load time.
    from reconciler.cli.app import _run as run

    run(body)


def _address(text: str) -> Address:
    try:
        return Address.parse(text)
    except ValueError as exc:
        raise ReconcilerError(str(exc)) from None


def _open_existing(spec: Path) -> StateStore:
    """The spec set's store; a SQLite file that does not exist is an error, not created."""
    from reconciler.state.open import is_postgres, open_location, state_location

    location = state_location(spec)
    if not is_postgres(location):
        path = Path(location.removeprefix("sqlite://"))
        if not path.is_file():
            raise StateError(f"{path}: no state here (set RECONCILER_STATE or --spec)")
    return open_location(location)


@state_app.command("list")
def state_list(spec: SpecOption = Path(".")) -> None:
    """List every address the state knows, with its id and how many facts it holds."""

    def body(out: Output) -> int:
        store = _open_existing(spec)
        try:
            entries = store.entries()
            location = store.location
        finally:
            store.close()
        lines = [
            f"{e.address}\tid={e.server_id or '-'}\tfingerprints={len(e.fingerprints)}"
            f"\trecords={len(e.records)}"
            for e in entries
        ]
        if lines:
            out.document("\n".join(lines))
        out.note(f"{len(entries)} addresses in {location}")
        return 0

    _run(body)


@state_app.command("show")
def state_show(
    address: Annotated[str, typer.Argument(help="provider.kind.name")],
    spec: SpecOption = Path("."),
) -> None:
    """Show everything the state holds about one address, as JSON."""

    def body(out: Output) -> int:
        wanted = _address(address)
        store = _open_existing(spec)
        try:
            entry = store.entry(wanted)
        finally:
            store.close()
        if entry.empty:
            out.error(f"{wanted}: no state")
            return 1
        document = {
            "address": str(entry.address),
            "id": entry.server_id,
            "fingerprints": entry.fingerprints,
            "records": entry.records,
        }
        out.document(json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False))
        return 0

    _run(body)


@state_app.command("mv")
def state_mv(
    old: Annotated[str, typer.Argument(help="Address whose state moves.")],
    new: Annotated[str, typer.Argument(help="Address that receives it (must have none).")],
    spec: SpecOption = Path("."),
) -> None:
    """Give an object's state to another address (after renaming it in the spec)."""

    def body(out: Output) -> int:
        source, target = _address(old), _address(new)
        store = _open_existing(spec)
        try:
            store.move(source, target)
        finally:
            store.close()
        out.note(f"Moved state of {source} to {target}", "green")
        return 0

    _run(body)


@state_app.command("migrate")
def state_migrate(
    to: Annotated[str, typer.Option("--to", help="postgresql://… URL (optional #namespace).")],
    spec: SpecOption = Path("."),
    source: Annotated[
        Path | None,
        typer.Option("--from", help="SQLite state file (default: the spec set's).", exists=True),
    ] = None,
) -> None:
    """Copy a SQLite state into PostgreSQL (ids, fingerprints, records and the key)."""

    def body(out: Output) -> int:
        from reconciler.state.migrate import migrate_to_postgres

        report = migrate_to_postgres(_sqlite_source(spec, source), to, os.environ)
        out.note(report, "green")
        out.note(f"Point every runner at it: RECONCILER_STATE={to}")
        return 0

    _run(body)


def _sqlite_source(spec: Path, source: Path | None) -> Path:
    from reconciler.state.open import default_state_path, is_postgres, state_location

    if source is not None:
        return source
    location = state_location(spec)
    path = default_state_path(spec) if is_postgres(location) else Path(location)
    if not path.is_file():
        raise StateError(f"{path}: no SQLite state to migrate (pass --from FILE)")
    return path
