"""Structured logs: one JSON object a line, carrying the request id and queue id.

The app only logs (logger ``push_pop_server``); :func:`configure_logging` is what the console
script calls to send every record, uvicorn's included, to stderr as JSON. Embedding
applications keep their own logging setup.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
import time
from typing import Any

__all__ = [
    "OPERATION_KEY",
    "REQUEST_ID_KEY",
    "JsonFormatter",
    "configure_logging",
    "logger",
    "request_id_var",
]

logger = logging.getLogger("push_pop_server")

REQUEST_ID_KEY = "push_pop.request_id"
"""Where the request id is kept in the ASGI scope."""
OPERATION_KEY = "push_pop.operation"
"""Where a route records the queue operation it ran, for the access log."""

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "push_pop_request_id", default=None
)

# Attributes every LogRecord has; anything else was passed in ``extra=`` and is logged.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
    "color_message",  # uvicorn's ANSI-coloured copy of the message
}


class JsonFormatter(logging.Formatter):
    """``{"ts", "level", "logger", "message", "request_id"?, ...extra}`` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = request_id_var.get()
        if request_id is not None:
            out["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str, ensure_ascii=False)


def configure_logging(level: str) -> None:
    """Route all logging (uvicorn's too) to stderr as JSON lines at ``level``."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers[:] = []
        uvicorn_logger.propagate = True
    # One line per sidecar call would double the access log; their failures surface as 503s.
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
