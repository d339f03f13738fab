"""The provider kit: what every provider shares, so a new system costs one folder.

* ``http``      ``HttpClient``: httpx with pacing, ``Retry-After``, retries, counting by route,
                redacted logging and typed answers (``decoded``).
* ``pacing``    ``TokenBucket`` (per target) and ``SharedBudget`` (the bucket's recent slots kept
                in the state store, so consecutive runs against one target share one budget).
* ``answers``   ``decode``: an API answer validated into a pydantic model, or an
                ``address: unexpected answer from <system> (...)`` error.
* ``create``    ``create_once``: POST once; only after an ambiguous failure look the object up by
                natural key and adopt it; ``ambiguous`` tells such failures apart.
* ``pool``      ``pool_map``: bounded-concurrency pooled reads.
* ``writeonly`` masked placeholders (``"write-only"``) read as "present, unknown" and never sent
                back; which write-only values a change must send.

The kit imports no provider; providers import the kit.
"""
