"""The feedback parser: one raw message in, what happened to whom out.

Pure functions, no I/O. See :func:`parse_message` and ``docs/parsing.md``.
"""

from __future__ import annotations

from postwarden.parse.engine import parse_message
from postwarden.parse.model import (
    KINDS,
    ComplaintReport,
    DeliveryStatus,
    OriginalMessage,
    ParseResult,
)

__all__ = [
    "KINDS",
    "ComplaintReport",
    "DeliveryStatus",
    "OriginalMessage",
    "ParseResult",
    "parse_message",
]
