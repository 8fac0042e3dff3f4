"""Connectors: one per kind of target, each behind the interface of connectors/base.py."""
