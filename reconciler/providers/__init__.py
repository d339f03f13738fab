"""Providers: one package per managed system, each behind the protocol in ``base.py``."""
