"""Loopback simulators of Salesforce and NetSuite that follow ../shared/reference/integration-contracts.md.

The demo and the tests publish to them; they keep what they receive so tests can assert it, and they
inject the faults a real target produces (errors, latency, limits, expired sessions, validation rules).
"""
