"""Matching: standardised keys, blocking, comparison, the match model, and its decisions."""
