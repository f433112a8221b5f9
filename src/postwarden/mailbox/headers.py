"""Header edits on raw bytes, leaving the rest of a message exactly as it came.

The inbound path writes ``Authentication-Results`` and ``X-Spam-*`` fields at the top
of a message. A click from webmail comes back with the delivered copy, so the
``X-Spam-*`` fields we added are taken off again (:func:`strip_verdict`) and the filter
learns the very bytes it classified: the click journal recognises the message and a
later opposite click undoes this one exactly."""

from __future__ import annotations

import re
from collections.abc import Callable

VERDICT_PREFIX = b"x-spam-"
"""Fields the inbound path adds for the verdict; any arriving from outside are dropped."""

_FIELD_NAME = re.compile(rb"^([!-9;-~]+)[ \t]*:")


def split_header(raw: bytes) -> tuple[list[bytes], bytes, bytes]:
    """The header fields (each with its folded lines and line ends), the blank line,
    and the body. A message without a blank line is all header."""
    newline = b"\r\n" if b"\r\n" in raw[:4096] else b"\n"
    fields: list[bytes] = []
    pos = 0
    while pos < len(raw):
        end = raw.find(b"\n", pos)
        line_end = len(raw) if end < 0 else end + 1
        line = raw[pos:line_end]
        if line in (b"\r\n", b"\n"):
            return fields, line, raw[line_end:]
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] += line
        else:
            fields.append(line)
        pos = line_end
    return fields, newline if not fields else b"", b""


def field_name(field: bytes) -> bytes:
    match = _FIELD_NAME.match(field)
    return match.group(1).lower() if match else b""


def drop_fields(raw: bytes, unwanted: Callable[[bytes, bytes], bool]) -> bytes:
    """``raw`` without the header fields for which ``unwanted(name, field)`` is true."""
    fields, blank, body = split_header(raw)
    kept = [f for f in fields if not unwanted(field_name(f), f)]
    if len(kept) == len(fields):
        return raw
    return b"".join(kept) + blank + body


def prepend(raw: bytes, fields: list[tuple[str, str]]) -> bytes:
    """``raw`` with ``fields`` added on top, in the message's own line ending."""
    newline = b"\r\n" if b"\r\n" in raw[:4096] else b"\n"
    head = b"".join(
        f"{name}: {value}".encode("utf-8", errors="replace").replace(b"\r\n", b"\n").replace(b"\n", newline)
        + newline for name, value in fields)
    return head + raw


def strip_verdict(raw: bytes) -> bytes:
    """``raw`` without any ``X-Spam-*`` field."""
    return drop_fields(raw, lambda name, _field: name.startswith(VERDICT_PREFIX))
