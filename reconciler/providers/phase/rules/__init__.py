"""The Phase planning rules, pure functions of ``(changes, desired, live)``.

``refine`` adds Phase's ordering edges, warnings and details to a plan's changes; ``check``
returns the plan's violations of Phase's safety rules. What they need to know besides the
objects (who the token is, global roles, keys held, ...) travels in the live state's context
(``facts.Facts``, filled in by ``read``), never on the provider. Modules: ``facts`` (that
context), ``common`` (shared helpers and access steps), ``refine`` and ``notes`` (what the plan
shows), ``check``, ``check_e2ee`` and ``caller`` (what it refuses).
"""

from reconciler.providers.phase.rules.check import check
from reconciler.providers.phase.rules.facts import Facts, facts_of
from reconciler.providers.phase.rules.refine import refine

__all__ = ["Facts", "check", "facts_of", "refine"]
