"""Log lines carry the correlation ID; production logs are one JSON object per line."""

import json
import logging
from io import StringIO

from pythonjsonlogger.json import JsonFormatter

from mdm.context import correlation
from mdm.logging import CorrelationIdFilter


def test_json_log_lines_carry_the_correlation_id() -> None:
    stream = StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(CorrelationIdFilter())
    handler.setFormatter(JsonFormatter("%(levelname)s %(name)s %(message)s %(correlation_id)s"))
    logger = logging.getLogger("mdm.test.json")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        with correlation("sync-7"):
            logger.warning("published %d records", 3)
        logger.warning("outside")
    finally:
        logger.removeHandler(handler)
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first == {
        "levelname": "WARNING",
        "name": "mdm.test.json",
        "message": "published 3 records",
        "correlation_id": "sync-7",
    }
    assert second["correlation_id"] == "-"
