"""safety: the plan-wide rules checked when a plan is built (pure).

* ``protect``: the spec would update a protected object. Protected objects are never changed;
  the plan is refused so the spec and the protect list are made to agree.
* ``max_deletes``: the plan deletes more objects than the spec's limit.
* ``max_delete_share``: the plan deletes more than the given share of the live objects of its
  providers. Checked only from two deleted objects up, so removing the one object of a tiny
  organisation is not mistaken for a mass deletion (``max_deletes`` still applies); an app
  delete that takes most of the organisation's environments with it is one.

Both count what the server deletes with a delete (``Change.cascade.objects``: an app's
environments, an account's tokens, ...) as well as the deletes themselves, each object once.
The violation names the plan's deletes (what the spec can keep); its message gives the total
and how many go with them.

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
    planned = [c for c in changes if c.action is Action.DELETE]
    deletes = tuple(sorted(c.address for c in planned))
    gone = set(deletes).union(*(c.cascade.objects for c in planned))
    total = len(gone)
    extra = ""  # how many go with the plan's deletes, when any do
    if total > len(deletes):
        extra = f"{len(deletes)} deletes and {total - len(deletes)} objects deleted with them"
    share = total / live_count if live_count else 0.0
    out: list[Violation] = []
    hint = "pass --allow-deletes to accept it"
    if total > limits.max_deletes:
        out.append(
            Violation(
                "max_deletes",
                deletes,
                f"plan deletes {total} objects" + (f" ({extra})" if extra else "") + ", more "
                f"than max_deletes ({limits.max_deletes}); {hint}",
            )
        )
    # live_count counts every live object, cascaded ones included: the share stays within 100%
    if total >= 2 and share > limits.max_delete_share:
        out.append(
            Violation(
                "max_delete_share",
                deletes,
                f"plan deletes {total} of {live_count} live objects ({share:.0%}"
                + (f"; {extra}" if extra else "")
                + f"), more than max_delete_share ({limits.max_delete_share:.0%}); {hint}",
            )
        )
    return out
