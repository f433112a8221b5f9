"""Verizon Wireless: the MMS gateway (vzwpix.com, "MMSC NDR Administrator")
and the SMS gateway (vtext.com). Neither writes a DSN.

MMSC::

    Message could not be delivered to mobile.
    Error: No valid recipients for this MM
    Original Message:
    To: 0000000000@vzwpix.com

SMS gateway::

    Error: Invalid user address
    Error message below:
    550 - Requested action not taken: no such user here
    Message details:
      RCPT TO: a@vtext.com
"""

from __future__ import annotations

import re

from postwarden.parse.decoder import Decoded, Finding
from postwarden.parse.message import Message, first_address

NAME = "verizon"
PRIORITY = 500

_HOSTS = ("vzwpix.com", "vtext.com", "vzw.com")
_RCPT = re.compile(r"(?im)^\s*rcpt to:\s*(.+)$")
_TO = re.compile(r"(?im)^\s*to:\s*(.+)$")
_ERROR = re.compile(r"(?im)^\s*error:\s*(.+)$")
_REPLY = re.compile(r"(?im)^\s*error message below:\s*\n\s*(.+)$")

# What the gateways say about the recipient.
PHRASES: dict[str, tuple[str, ...]] = {
    # Error: No valid recipients for this MM
    # Error: Invalid user address
    "userunknown": ("no valid recipients", "invalid user address"),
}


def decode(msg: Message) -> Decoded | None:
    if not any(h in msg.from_.lower() for h in _HOSTS):
        return None
    body = msg.body
    error = _ERROR.search(body)
    if error is None:
        return None
    rcpt_line = _RCPT.search(body) or _TO.search(body)
    recipient = first_address(rcpt_line.group(1)) if rcpt_line else None
    reply = _REPLY.search(body)
    diagnostic = " ".join(x for x in (error.group(1).strip(), reply.group(1).strip() if reply else "") if x)
    lower = diagnostic.lower()
    reason = next((r for r, ps in PHRASES.items() if any(p in lower for p in ps)), None)
    return Decoded([Finding(recipient=recipient, diagnostic=diagnostic, reason=reason,
                            command="RCPT" if rcpt_line and rcpt_line.re is _RCPT else None)])
