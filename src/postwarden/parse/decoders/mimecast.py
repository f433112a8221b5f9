"""Mimecast delivery failure alerts ("[Postmaster] Email Delivery Failure").
Three double-dash items, each under a heading::

    An email that you attempted to send to the following address could not be delivered:
    -- a@example.org
    The problem appears to be :
    -- Recipient email address is possibly incorrect
    Additional information follows :
    -- 5.4.1 Recipient address rejected: Access denied.

The problem line is Mimecast's own category; the additional line is the
remote server's words when there are any.
"""

from __future__ import annotations

import re

from postwarden.parse.decoder import Decoded, Finding
from postwarden.parse.message import Message, first_address

NAME = "mimecast"
PRIORITY = 500

_MARK = "the problem appears to be"
# Newer alerts add a DSN-like part, written "Diagnostic-Code : smtp;550 ...".
_DIAGNOSTIC = re.compile(r"(?im)^diagnostic-code\s*:\s*(?:[a-z-]+;\s*)?(.+)$")
_ITEM = re.compile(r"(?ms)^\s*--\s+(.+?)(?=^\s*$|^\S[^\n]*:\s*$|^\s*--\s)")

_OTHER_FAILURE = re.compile(r"(?i)relay|blocked|spam|policy|dmarc|spf")

# Mimecast's categories (the line after "The problem appears to be :").
PHRASES: dict[str, tuple[str, ...]] = {
    # -- Recipient email address is possibly incorrect
    "userunknown": ("recipient email address is possibly incorrect",),
    # -- Recipient mailbox is full
    "mailboxfull": ("mailbox is full",),
    # -- Message size exceeds recipient's limit
    "mesgtoobig": ("message size exceeds",),
}


def decode(msg: Message) -> Decoded | None:
    lower = msg.body_lower
    if _MARK not in lower or "could not be delivered" not in lower:
        return None
    items = [" ".join(m.group(1).split()) for m in _ITEM.finditer(msg.body)]
    if len(items) < 2:
        return None
    recipient = first_address(items[0])
    problem = items[1]
    extra = items[2] if len(items) > 2 else ""
    coded = _DIAGNOSTIC.search("\n".join([*msg.dsn, msg.body]))
    if coded:
        extra = coded.group(1).strip()
    problem_lower = problem.lower()
    category = next((r for r, ps in PHRASES.items() if any(p in problem_lower for p in ps)), None)
    # Mimecast's category stands, unless the remote server's words name
    # another failure than a bad address (a relay refusal, a block, ...).
    reason = None if _OTHER_FAILURE.search(extra) else category
    return Decoded([Finding(recipient=recipient, diagnostic=extra or problem, reason=reason)])
