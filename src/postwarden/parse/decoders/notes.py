"""Lotus Notes / Domino SMTP MTA: "Undeliverable message", with the reason
first and the recipient after it, between two dashed markers::

    ------- Failure Reasons  --------
    User  not listed in public Name & Address Book
    kijitora@example.com
    ------- Returned Message --------
"""

from __future__ import annotations

from postwarden.parse.decoder import Decoded, Finding
from postwarden.parse.message import Message, all_addresses, headers_of

NAME = "notes"
PRIORITY = 500

_START = "------- failure reasons"
_END = "------- returned message"


def decode(msg: Message) -> Decoded | None:
    lower = msg.body_lower
    start = lower.find(_START)
    if start < 0:
        return None
    end = lower.find(_END, start)
    section = msg.body[start:end if end >= 0 else len(msg.body)].split("\n")[1:]
    reasons: list[str] = []
    findings: list[Finding] = []
    for raw in section:
        line = raw.strip()
        if not line:
            continue
        found = all_addresses(line)
        if found and len(line) <= len(found[0]) + 4:
            text = " ".join(reasons)
            findings.append(Finding(recipient=found[0], diagnostic=text or None,
                                    reason=None if _readable(text) else "onhold"))
            reasons = []
        else:
            reasons.append(line)
    if not findings:
        return None
    original = msg.original or (headers_of(msg.body[end:].split("\n", 1)[-1]) if end >= 0 else None)
    return Decoded(findings, original=original)


def _readable(text: str) -> bool:
    """Notes writes the reason in the server's language and charset; what is
    left of it here may be only escape codes ("$B%(%i!<(B"). Such text says
    nothing: the record stays ``onhold``."""
    letters = sum(c.isalpha() for c in text)
    return bool(text) and "$B" not in text and letters >= len(text) // 2
