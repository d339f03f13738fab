"""``SandboxHooks``: the conformance suite's hooks that every provider sandbox answers the
same way, through its control API (``reconciler.sandbox.common.control``). Mix it into a
``ProviderSuite`` subclass, name the module-scoped sandbox fixture in ``sandbox_fixture`` and
the variants' specs in ``variant_specs`` (``specs`` is the suite's fixture)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest

from reconciler.sandbox.host import AppServer


class SandboxHooks:
    sandbox_fixture: ClassVar[str]
    variant_specs: ClassVar[Mapping[str, str]]  # the spec of each variant

    def environment(self, tmp_path: Path, request: pytest.FixtureRequest) -> dict[str, str]:
        return self.reset_sandbox(request)

    def spec(self, variant: str) -> str:
        return self.variant_specs[variant]

    def reset_sandbox(self, request: pytest.FixtureRequest) -> dict[str, str]:
        """Reset the sandbox: its credentials, and ``SANDBOX_ROOT`` for ``_control``."""
        sandbox: AppServer = request.getfixturevalue(self.sandbox_fixture)
        credentials: dict[str, str] = httpx.post(
            f"{sandbox.root}/_sandbox/reset/", timeout=10
        ).json()
        return {**credentials, "SANDBOX_ROOT": sandbox.root}

    def _control(self, env: Mapping[str, str], method: str, path: str, body: Any = None) -> Any:
        response = httpx.request(method, f"{env['SANDBOX_ROOT']}/_sandbox/{path}", json=body)
        response.raise_for_status()
        return response.json()

    def throttle(self, env: Mapping[str, str], retry_after: int) -> bool:
        self._control(env, "POST", "faults/", {"throttle": 2, "retry_after": retry_after})
        return True

    def clear_faults(self, env: Mapping[str, str]) -> None:
        self._control(env, "DELETE", "faults/")
