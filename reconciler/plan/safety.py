"""safety: the plan-wide rules checked when a plan is built (pure).

* ``protect``: the spec would update a protected object. Protected objects are never changed;
  the plan is refused so the spec and the protect list are made to agree.
* ``max_deletes``: the plan deletes more objects than the spec's limit.
* ``max_delete_share``: the plan deletes more than the given share of the live objects of its
  providers. Checked only from two deletes up, so removing the one object of a tiny
  organisation is not mistaken for a mass deletion (``max_deletes`` still applies).

``--allow-deletes`` (``SafetyLimits.override``) lifts both delete limits, never ``protect``.
Provider rules (owner, self-lockout, E2EE) come from the providers' ``check``.
"""

from __future__ import annotations

from collections.abc import Sequence

from reconciler.address import Address
from reconciler.plan.change import Action, Change
from reconciler.plan.plan import Violation
from reconciler.plan.policy import SafetyLimits


def protect_violations(protected: Sequence[Address]) -> list[Violation]:
    """One violation per protected object the spec would change."""
    return [
        Violation(
            "protect",
            (address,),
            "protected object would be changed; align the spec with it or unprotect it",
        )
        for address in sorted(protected)
    ]


def delete_violations(
    changes: Sequence[Change], live_count: int, limits: SafetyLimits
) -> list[Violation]:
    """Violations of the delete limits (none when ``limits.override``)."""
    if limits.override:
        return []
    deletes = tuple(sorted(c.address for c in changes if c.action is Action.DELETE))
    out: list[Violation] = []
    hint = "pass --allow-deletes to accept it"
    if len(deletes) > limits.max_deletes:
        out.append(
            Violation(
                "max_deletes",
                deletes,
                f"plan deletes {len(deletes)} objects, more than max_deletes "
                f"({limits.max_deletes}); {hint}",
            )
        )
    if len(deletes) >= 2 and live_count and len(deletes) / live_count > limits.max_delete_share:
        out.append(
            Violation(
                "max_delete_share",
                deletes,
                f"plan deletes {len(deletes)} of {live_count} live objects "
                f"({len(deletes) / live_count:.0%}), more than max_delete_share "
                f"({limits.max_delete_share:.0%}); {hint}",
            )
        )
    return out
