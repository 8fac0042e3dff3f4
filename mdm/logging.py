"""Logging helpers: every log line carries the correlation ID of the work that wrote it."""

import logging

from mdm.context import current_correlation_id


class CorrelationIdFilter(logging.Filter):
    """Adds `correlation_id` to every record so formatters can print it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.correlation_id = current_correlation_id() or "-"
        return True
