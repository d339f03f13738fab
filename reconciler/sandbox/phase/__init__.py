"""The Phase sandbox: the public v1 REST API of a Phase server (docs/phase-api.md and
docs/phase-api.md#recorded-exchanges) with real keys, the console's password login and the GraphQL
subset E2EE apps need, plus a ``/_sandbox/`` control API for the human steps the real API
cannot do. Served by ``reconciler.sandbox.server.Sandbox``.

Modules: ``api`` (routing, request pipeline, throttle, faults, counters), ``auth`` (tokens and
request context), ``access`` (permission predicates), ``call`` (request bodies, view shape),
``routes_*`` (the v1 views), ``grants`` (access PUTs), ``keys`` (server-side key wrapping),
``render`` (response shapes), ``roles`` (default roles), ``store`` (state in SQLite), ``seed``
(default organisation, fixtures), ``session`` (password login), ``graphql`` (GraphQL subset),
``control`` (``/_sandbox/``), ``wire`` (errors, camelCase, sanitising).
"""
