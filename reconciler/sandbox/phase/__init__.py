"""The Phase sandbox: the public v1 REST API of a Phase server (contracts/phase.md and
contracts/phase-transcript.md), with real keys, plus a ``/_sandbox/`` control API for the human
steps the real API cannot do."""
