"""The golden-record store: golden records, source records, cross-references, hierarchies, rules and survivorship,
with the write path (ingest.py), the REST API (api/) and publishing (publishing/) on top of it."""
