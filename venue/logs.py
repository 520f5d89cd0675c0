"""Keeping secrets out of logs: personal and invite tokens travel in URLs (`/p/<token>/`,
`/join/<token>/`, a socket's `?token=`), and whatever logs a URL must not write them down."""

import logging
import re

SECRETS = re.compile(r"(/p/|/join/|[?&]token=)[^/?&#\s\"']+")


def redact(text):
    return SECRETS.sub(r"\1[redacted]", text)


class RedactTokens(logging.Filter):
    """A handler's filter: the record's message, with every token in it replaced."""

    def filter(self, record):
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
