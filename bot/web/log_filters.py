"""Logging filters that keep secrets out of logs: customer tokens in URLs (uvicorn's access log).

Customer routes take their token as ``?token=…`` (an ``EventSource`` cannot send headers), so the access log
would otherwise carry every customer's credential. :func:`install` is called by ``app.py``'s logging set-up.
"""

from __future__ import annotations

import logging
import re

#: ``token=``, ``customer_token=``, ``access_token=``… query values (up to the next ``&``, space or quote).
_QUERY_SECRET = re.compile(r"(?i)((?:^|[?&;])[a-z_]*(?:token|secret|signature|api_key)=)[^&;\s\"']*")
REDACTED = "[redacted]"


def redact(text: str) -> str:
    """``text`` with the values of secret-looking query parameters replaced by ``[redacted]``."""
    return _QUERY_SECRET.sub(lambda m: m.group(1) + REDACTED, text)


def _arg(value: object) -> object:
    if isinstance(value, (int, float)) or value is None:
        return value  # %d and friends must keep their numbers
    text = value if isinstance(value, str) else str(value)  # e.g. httpx logs an httpx.URL
    cleaned = redact(text)
    return value if cleaned == text else cleaned


class RedactQuerySecrets(logging.Filter):
    """Rewrites a record's message arguments (or its message, when it has none) through :func:`redact`."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(_arg(a) for a in record.args)
        elif isinstance(record.args, dict) and record.args:
            record.args = {k: _arg(v) for k, v in record.args.items()}
        elif isinstance(record.msg, str):
            record.msg = redact(record.msg)
        return True


#: Loggers whose records can hold request URLs (httpx logs each outgoing request's URL at INFO).
URL_LOGGERS = ("uvicorn.access", "uvicorn.error", "httpx")


def install() -> None:
    """Attach the filter to the loggers that write request URLs (once; calling again changes nothing)."""
    for name in URL_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactQuerySecrets) for f in logger.filters):
            logger.addFilter(RedactQuerySecrets())
