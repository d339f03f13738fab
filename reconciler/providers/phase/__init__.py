"""The Phase provider: a whole Phase organisation through the public v1 REST API."""
