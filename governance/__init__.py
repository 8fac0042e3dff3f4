"""Governance: steward work on top of the store (review queue, merge/unmerge, change requests, audit)."""
