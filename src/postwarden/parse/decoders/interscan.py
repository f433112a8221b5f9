"""Trend Micro InterScan Messaging Security Suite: "Mail could not be
delivered", a notice framed in asterisks::

    ****** Message from InterScan Messaging Security Suite ******
    Unable to deliver message to <a@b> (and other recipients in the same domain).

It names the recipient InterScan could not deliver to; when the remote reply is
quoted, the classifier reads it, otherwise the notice means the address was
not accepted (the same words are followed by "Please check if address is
correct")."""

from __future__ import annotations

import re

from postwarden.parse.decoder import Decoded, Finding
from postwarden.parse.message import Message, first_address

NAME = "interscan"
PRIORITY = 500

_MARK = "message from interscan messaging security suite"
_UNABLE = re.compile(r"(?i)unable to deliver message to\s+<?([^\s<>]+@[^\s<>]+)")
_CODE = re.compile(r"(?<!\d)[45]\d\d[ -]")


def decode(msg: Message) -> Decoded | None:
    lower = msg.body_lower
    if _MARK not in lower[:4000]:
        return None
    report = msg.body[: lower.find("end of message") if "end of message" in lower else 4000]
    findings = []
    for match in _UNABLE.finditer(report):
        rcpt = first_address(match.group(1))
        line_end = report.find("\n", match.end())
        text = " ".join(report[match.start():line_end if line_end >= 0 else len(report)].split())
        findings.append(Finding(
            recipient=rcpt, diagnostic=text,
            reason=None if _CODE.search(text) else "userunknown",
        ))
    return Decoded(findings) if findings else None
