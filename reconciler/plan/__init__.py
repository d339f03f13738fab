"""The pure planning core: diff, order, plan (digest, safety), render. No HTTP, YAML, printing."""
