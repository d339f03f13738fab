"""No secret of an E2EE run leaves the process: every output of plan, apply and drift (text,
JSON, markdown, HTML, debug logs) and the state file are scanned for the environment seeds and
salts, the applier's private keys, its password and login hash, its token and every part of it,
and the service-account token the run minted."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from phase_org import Org, stored_tokens

from reconciler.crypto.keyring import Keyring
from reconciler.crypto.password import password_auth_hash
from reconciler.crypto.tokens import parse_token


def secrets_of_the_run(org: Org) -> dict[str, str]:
    """Everything that must never be written, by name."""
    creds = org.phase.credentials
    token = parse_token(creds["PHASE_TOKEN"])
    found = {
        "token": creds["PHASE_TOKEN"],
        "bearer": token.bearer,
        "share_a": token.share_a,
        "wrap_key": token.wrap_key,
        "password": creds["PHASE_PASSWORD"],
        "auth_hash": password_auth_hash(creds["PHASE_PASSWORD"], creds["PHASE_EMAIL"]),
    }
    principals = org.phase.control("GET", "principals/")
    owner = next(m for m in principals["members"] if m["email"] == creds["PHASE_EMAIL"])
    found["kx_private"] = owner["kx_private"]
    found["signing_key"] = owner["signing_key"]
    with org.phase.owner() as client:
        keys = client.get("/secrets/tokens/").json()
    found["sa_token"] = stored_tokens(org)[0]
    found["share_b"] = keys["wrapped_key_share"]  # wrapped, but only the server should have it
    keyring = Keyring.recover(token, keys["wrapped_key_share"])
    for app in keys["apps"]:
        if app["name"] != "vault":
            continue
        for row in app["environment_keys"]:
            env = row["environment"]["name"]
            opened = keyring.unwrap_env(
                row["wrapped_seed"], row["wrapped_salt"], row["identity_key"]
            )
            found[f"seed {env}"] = opened._seed.decode()
            found[f"salt {env}"] = opened._salt.decode()
    assert {"seed Development", "seed Production", "seed Audit"} <= set(found)
    return found


def test_no_secret_in_any_output_log_or_state(org: Org) -> None:
    org.monkeypatch.setenv("RECONCILER_LOG", "debug")
    outputs: dict[str, str] = {}

    def run(name: str, *args: str) -> None:
        result = org.run(*args)
        assert result.exit_code in (0, 2), result.output
        outputs[f"{name} stdout"] = result.stdout
        outputs[f"{name} stderr"] = result.stderr

    spec = str(org.spec)
    run("plan text", "plan", spec)
    run("plan json", "plan", spec, "--format", "json")
    run("plan markdown", "plan", spec, "--format", "markdown", "--out", str(org.tmp / "p.json"))
    run("apply", "apply", spec, "--auto-approve")
    org.edit("people.yaml", "        vault: [Development, Audit]\n", "        vault: [Audit]\n")
    run("revoke plan", "plan", spec)
    run("revoke apply", "apply", spec, "--auto-approve")
    run("drift text", "drift", spec)
    run("drift html", "drift", spec, "--format", "html", "--out", str(org.tmp / "drift.html"))
    assert "DEBUG reconciler.phase" in outputs["apply stderr"]  # the logs were on
    assert "console UpdateEnvScope" in outputs["revoke apply stderr"]
    outputs["saved plan"] = (org.tmp / "p.json").read_text()
    outputs["drift html"] = (org.tmp / "drift.html").read_text()
    state = Path(org.tmp / "state.db")
    outputs["state file"] = state.read_bytes().decode("latin-1")
    with sqlite3.connect(state) as db:
        rows = [
            str(row)
            for (table,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")
            for row in db.execute(f"SELECT * FROM {table}")  # table names from sqlite
        ]
    outputs["state rows"] = "\n".join(rows)
    assert len(outputs["state rows"]) > 100  # the store was written

    secrets = secrets_of_the_run(org)
    leaks = [
        f"{what} in {where}"
        for what, value in secrets.items()
        for where, text in outputs.items()
        if value.lower() in text.lower()
    ]
    assert leaks == []
