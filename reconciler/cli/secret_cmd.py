"""``reconciler secret``: encrypt spec values for ``!encrypted`` and make keys."""

from __future__ import annotations

import typer

from reconciler.cli.output import Output
from reconciler.cli.running import run as _run
from reconciler.secrets.value import Secret

secret_app = typer.Typer(
    help="Encrypt spec values (!encrypted) and make keys.", no_args_is_help=True
)


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
