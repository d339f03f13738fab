"""Make a change outside git, as someone clicking in the Phase console would: give an app a new
description through the REST API with the token in ``PHASE_TOKEN``. The next ``reconciler drift``
reports it as *changed*; ``reconciler apply`` puts the spec's description back.

Usage: python examples/out_of_band.py APP_NAME [NEW_DESCRIPTION]
"""

from __future__ import annotations

import os
import sys

import httpx


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 1
    name = argv[0]
    description = argv[1] if len(argv) > 1 else "edited by hand in the console"
    # The bearer is the token field of pss_user:v1:<token>:..., after the principal type.
    token = os.environ["PHASE_TOKEN"]
    kind = "ServiceAccount" if token.startswith("pss_service") else "User"
    headers = {"Authorization": f"Bearer {kind} {token.split(':')[2]}"}
    with httpx.Client(base_url=os.environ["PHASE_URL"], headers=headers, timeout=10) as client:
        apps = client.get("/v1/apps/").raise_for_status().json()["data"]
        matches = [a for a in apps if a["name"].lower() == name.lower()]
        if len(matches) != 1:
            print(f"{name}: expected one app of that name, found {len(matches)}", file=sys.stderr)
            return 1
        client.put(
            f"/v1/apps/{matches[0]['id']}/", json={"description": description}
        ).raise_for_status()
    print(f"app {name!r}: description set to {description!r} outside git")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
