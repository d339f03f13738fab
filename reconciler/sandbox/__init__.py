"""Local, contract-faithful servers of the managed systems' APIs, for tests, demos and users' CI."""
