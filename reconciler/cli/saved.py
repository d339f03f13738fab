"""Saved plans and their spec: the path a plan keeps, and finding the spec from any directory."""

from __future__ import annotations

import os
from pathlib import Path

from reconciler.errors import ApplyError
from reconciler.plan.plan import Plan


def relative_to(path: Path, base: Path) -> str:
    """``path`` relative to the directory ``base`` (POSIX separators), as a saved plan keeps its
    spec path."""
    return Path(os.path.relpath(path.resolve(), base.resolve())).as_posix()


def saved_spec(plan_file: Path, saved: Plan) -> Path:
    """The spec a saved plan was made from, found from any working directory.

    The plan keeps the spec path relative to the plan file (``plan --out``); a plan written to
    stdout keeps it as given, relative to where plan ran. Both readings are tried and the one
    whose files have the plan's spec digest wins. Raises ``ApplyError`` naming the expected
    path when none has: the spec is missing here, or changed since the plan was reviewed.
    """
    from reconciler.spec.load import spec_digest_of

    stored = Path(saved.spec_path)
    candidates = [stored] if stored.is_absolute() else [plan_file.parent / stored, stored]
    present = [c for c in dict.fromkeys(candidates) if c.exists()]
    for candidate in present:
        if spec_digest_of(candidate) == saved.spec_digest:
            return candidate
    usage = f"reconciler apply --plan {plan_file} SPEC_PATH"
    if present:
        raise ApplyError(
            None,
            f"{plan_file}: the spec changed since the plan was made: {present[0]} is not the "
            f"reviewed version (spec digest {saved.spec_digest[:12]}); run plan again, or pass "
            f"the reviewed spec: {usage}",
        )
    raise ApplyError(
        None,
        f"{plan_file}: the plan was made from the spec at {candidates[0]} ({saved.spec_path!r} "
        f"relative to the plan file), which does not exist here; pass its path: {usage}",
    )
