"""Publishing: getting golden records out (outbox → relay → connector → result) and pulling changes back in.

- models live in mdm/models/publishing.py (targets, deliveries, exceptions, watermarks);
- relay.py claims outbox events and due deliveries, coalesces them and hands batches to connectors;
- mapping.py turns a golden record into a target's fields by the target's versioned field mapping;
- connectors/ speak to Salesforce, NetSuite and webhooks (their loopback stand-ins: the simulators/ package);
- pulls.py brings target-side changes back through mdm/ingest.py, dropping the echo of our own writes.
"""
