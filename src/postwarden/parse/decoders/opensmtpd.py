"""OpenSMTPD notices ("Delivery status notification: error/delayed"). The
text part lists one recipient a line, with the reason after a colon::

        This is the MAILER-DAEMON, please DO NOT REPLY to this email.

        An error has occurred while attempting to deliver a message for
        the following list of recipients:

    a@example.org: 550 5.1.1 <a@example.org>: Recipient address rejected: User unknown
    b@example.net: Envelope expired

        Below is a copy of the original message:

Newer versions add a ``message/delivery-status`` part, but its Status is a
placeholder (4.0.0 or 4.4.7 for every delay): the text line is what the
server said, so the records are read from the text, not from that part.
"""

from __future__ import annotations

import re

from postwarden.parse.decoder import Decoded, Finding
from postwarden.parse.message import Message, clean_address

NAME = "opensmtpd"
PRIORITY = 500

_MARK = "this is the mailer-daemon, please do not reply to this email"
_START = "list of recipients:"
_END = "below is a copy of the original message"
_LINE = re.compile(r"^(?P<addr>[^\s:<>]+@[^\s:<>]+):\s*(?P<said>.+)$")


def decode(msg: Message) -> Decoded | None:
    lower = msg.body_lower
    if _MARK not in lower[:4000]:
        return None
    start = lower.find(_START)
    if start < 0:
        return None
    end = lower.find(_END, start)
    report = msg.body[start + len(_START) : end if end >= 0 else len(msg.body)]
    delayed = "is delayed for" in lower[:start]
    findings = []
    for raw in report.split("\n"):
        match = _LINE.match(raw.strip())
        if match:
            findings.append(Finding(
                recipient=clean_address(match.group("addr")),
                diagnostic=match.group("said").strip(),
                action="delayed" if delayed else "failed",
            ))
    return Decoded(findings) if findings else None
