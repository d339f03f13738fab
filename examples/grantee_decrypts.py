"""Check an end-to-end encrypted grant from the grantee's side, as their own device would: a
personal access token for the member (made through the sandbox's ``/_sandbox/`` control API,
as they would make one in the console), their private key recovered from it and the server's
key share, the environment key unwrapped with it, and the environment's secrets decrypted.
Prints the names of the secrets it could open, never their values.

Usage: python examples/grantee_decrypts.py EMAIL APP ENVIRONMENT   (with PHASE_URL set)
"""

from __future__ import annotations

import os
import sys

import httpx

from reconciler.crypto.keyring import KeyMaterialError, Keyring
from reconciler.crypto.tokens import parse_token


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 1
    email, app, env = argv
    with httpx.Client(base_url=os.environ["PHASE_URL"], timeout=10) as client:
        made = client.post(f"/_sandbox/members/{email}/tokens/", json={"name": "check"})
        token = parse_token(made.raise_for_status().json()["token"])
        keys = (
            client.get("/secrets/tokens/", headers={"Authorization": token.authorization()})
            .raise_for_status()
            .json()
        )
        rows = [
            row
            for entry in keys["apps"]
            if entry["name"] == app
            for row in entry["environment_keys"]
            if row["environment"]["name"] == env
        ]
        if not rows:
            print(f"{email} holds no key for {app}/{env}", file=sys.stderr)
            return 1
        row = rows[0]
        try:
            with Keyring.recover(token, keys["wrapped_key_share"]) as keyring:
                opened = keyring.unwrap_env(
                    row["wrapped_seed"], row["wrapped_salt"], row["identity_key"]
                )
            stored = client.get(f"/_sandbox/secrets/{row['environment']['id']}/")
            names = []
            for secret in stored.raise_for_status().json():
                opened.decrypt(secret["value"])  # proves the value opens; never printed
                names.append(opened.decrypt(secret["key"]))
            opened.close()
        except KeyMaterialError as exc:
            print(f"{email}: {exc}", file=sys.stderr)
            return 1
    print(f"{email} opened {app}/{env} with their own key: {len(names)} secret(s) decrypted "
          f"({', '.join(names) or 'none stored'})")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
