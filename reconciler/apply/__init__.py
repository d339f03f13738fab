"""Apply: execute a plan's changes with bounded concurrency and report each outcome."""
