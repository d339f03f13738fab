"""RECONCILER_LOG=debug: the request log goes to the command's stderr only (stdout stays the
JSON document), and the root logger is as before once the command has returned, so commands
run one after another in one process each log to their own stderr."""

from __future__ import annotations

import json
import logging

from messages_org import Org


def test_debug_log_on_stderr_only_and_root_logger_put_back(org: Org) -> None:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    org.monkeypatch.setenv("RECONCILER_LOG", "debug")
    for _ in range(2):  # the second command must not write to the first one's closed stream
        result = org.run("plan", str(org.spec), "--format", "json")
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["changes"] is not None
        assert "DEBUG reconciler.messages: GET " in result.stderr
        assert "reconciler.messages" not in result.stdout
        assert (root.handlers, root.level) == (handlers, level)
