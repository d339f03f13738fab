"""Secrets under faults and debug logging: for every provider, each secret the run holds (its
credentials, the example's write-only values, the one-time passwords the server issues) is
looked for in every output, the saved plan, the drift report, the state store, the error text
of a refused credential and every file the run wrote. None is found, except in the file the
spec names as the secret's store, which is mode 0600."""

from __future__ import annotations

import pytest
from harness import Rig, secrets_trial

pytestmark = pytest.mark.e2e


def test_no_secret_leaves_the_process(rig: Rig) -> None:
    trial = secrets_trial(rig, 3)
    assert trial.canaries >= 2 and trial.faults.total() >= 1, trial
    assert not trial.leaks and not trial.problems, trial
    if rig.name == "messages":
        assert trial.kept >= 1, trial  # the one-time password file was written and scanned
