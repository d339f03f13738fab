"""Engine: the orchestration behind every command (I/O allowed, printing not).

A ``Session`` is one spec set opened for work: its state store, the loaded ``Spec`` (desired
sensitive attributes fingerprinted with the store's key) and a connected ``Provider`` for each
provider section present. Its methods are the steps of the data flow in DESIGN.md::

    refresh()            provider.read for each provider, then write-only fingerprints from state
    make_plan()          refresh + build_plan (with request counts and seconds per provider)
    verify_saved_plan()  a saved plan is still valid: same spec, touched live objects unchanged
    apply()              refuses a refused plan, locks every target it changes, executes
    apply_saved()        locks, verifies a reviewed plan under the locks, executes exactly it
    drift()              a drift report made from a fresh plan

Several providers in one spec set are planned and applied together: each has its own target
and apply lock, and a failed change stops only the changes that depend on it.

Modules, by job: ``reading`` (load, open providers, refresh, make_plan, stats), ``saved``
(saved plans: write, read, verify), ``running`` (locks, apply, drift), ``session``
(``Session``, ``spec_secrets``), ``adoption`` (``export``). Module functions take their inputs
explicitly so tests can drive each step alone; they are all importable from here.
"""

from __future__ import annotations

from reconciler.engine.adoption import connection_template, export
from reconciler.engine.reading import (
    close_providers,
    load,
    make_plan,
    open_providers,
    plan_stats,
    refresh,
)
from reconciler.engine.running import (
    apply,
    apply_saved,
    default_holder,
    drift,
    hold_locks,
    plan_targets,
)
from reconciler.engine.saved import read_plan, save_plan, verify_saved_plan
from reconciler.engine.session import Session, spec_secrets

__all__ = [
    "Session",
    "apply",
    "apply_saved",
    "close_providers",
    "connection_template",
    "default_holder",
    "drift",
    "export",
    "hold_locks",
    "load",
    "make_plan",
    "open_providers",
    "plan_stats",
    "plan_targets",
    "read_plan",
    "refresh",
    "save_plan",
    "spec_secrets",
    "verify_saved_plan",
]
