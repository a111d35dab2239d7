"""Configure logging as text for people or JSON lines for log collectors."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

TEXT_FORMAT = "%(asctime)s | %(levelname)-8s | %(name)s | %(message)s"
# Loggers that are chatty at INFO without saying anything an operator acts on.
# SQLAlchemy logs every statement with its parameters at INFO (pseudonyms, ids), so it stays at WARNING.
QUIET_LOGGERS = (
    "discord.gateway",
    "discord.client",
    "apscheduler.scheduler",
    "apscheduler.executors.default",
    "sqlalchemy",
)
# discord.py logs whole gateway and HTTP payloads at DEBUG, with member names, ids and what members
# typed into forms, and the database drivers log SQL parameters at DEBUG. Privacy comes first: those
# loggers never go below INFO, whatever LOG_LEVEL says.
PAYLOAD_LOGGERS = ("discord", "aiosqlite", "asyncpg")


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON object per line.

    Written here rather than adding a dependency: the stdlib gives everything but the JSON shape.
    """

    def format(self, record: logging.LogRecord) -> str:
        """Return the record as a JSON line."""
        payload: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        error_id = getattr(record, "error_id", None)
        if error_id:
            payload["error_id"] = error_id
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload, ensure_ascii=False)


def configure_logging(level: str, fmt: str) -> None:
    """Send log records to stderr in the chosen format."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    numeric = logging.getLevelName(level)
    for name in PAYLOAD_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.INFO, numeric))
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.WARNING, numeric))
