"""Trustwave (Marshal) MailMarshal SMTP: the reason comes first, then the
recipients it applies to, then a block of fields::

    Your message:
       From:    a@sender.example
       Subject: Hello

    Could not be delivered because of

    550 5.1.1 User unknown

    The following recipients were affected:
        b@example.org

    Additional Information
    ======================
    Original Sender:    <a@sender.example>
    Remote-MTA:         <192.0.2.2>
"""

from __future__ import annotations

import re

from postwarden.parse.decoder import Decoded, Finding
from postwarden.parse.message import Message, all_addresses

NAME = "mailmarshal"
PRIORITY = 500

_BECAUSE = "could not be delivered because of"
_AFFECTED = "the following recipients were affected:"
_END = re.compile(r"(?im)^\s*additional information\s*$|^\s*={5,}\s*$")


def decode(msg: Message) -> Decoded | None:
    lower = msg.body_lower
    because = lower.find(_BECAUSE)
    affected = lower.find(_AFFECTED)
    if because < 0 or affected < because:
        return None
    reason = " ".join(msg.body[because + len(_BECAUSE) : affected].split())
    tail = msg.body[affected + len(_AFFECTED) :]
    end = _END.search(tail)
    recipients = all_addresses(tail[: end.start() if end else 2000])
    findings = [Finding(recipient=r, diagnostic=reason or None) for r in recipients]
    return Decoded(findings) if findings else None
