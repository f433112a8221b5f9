"""KDDI / au one net (dion.ne.jp, ezweb.ne.jp, auone-net.jp) error notices:
an optional Japanese summary, then the server's English lines::

    Your mail sent on: Thu, 29 Apr 2013 23:45:22 +0900
         Could not be delivered to: <a@x.dion.ne.jp>
         As their mailbox is full.
"""

from __future__ import annotations

import re

from postwarden.parse.decoder import Decoded, Finding
from postwarden.parse.message import Message, first_address

NAME = "kddi"
PRIORITY = 500

_HOSTS = ("dion.ne.jp", "ezweb.ne.jp", "auone-net.jp", "au.com")
_TARGET = re.compile(r"(?im)^\s*could not be delivered to:\s*(?P<addr>\S+)\s*$")

# The server's own reasons (the line after the address).
PHRASES: dict[str, tuple[str, ...]] = {
    # As their mailbox is full.
    "mailboxfull": ("as their mailbox is full",),
    # Due to the following SMTP relay error
    "expired": ("due to the following smtp relay error",),
    # As the remote domain doesnt exist.
    "hostunknown": ("as the remote domain doesnt exist", "as the remote domain doesn't exist"),
}


def decode(msg: Message) -> Decoded | None:
    sender = msg.from_.lower()
    if not any(h in sender for h in _HOSTS) or "could not be delivered to:" not in msg.body_lower:
        return None
    lines = msg.body.split("\n")
    findings = []
    for i, line in enumerate(lines):
        match = _TARGET.match(line)
        if not match:
            continue
        after = " ".join(x.strip() for x in lines[i + 1 : i + 3] if x.strip() and ":" not in x)
        findings.append(Finding(
            recipient=first_address(match.group("addr")), diagnostic=after or None,
            reason=_reason(after.lower()),
        ))
    return Decoded(findings) if findings else None


def _reason(text: str) -> str | None:
    for reason, phrases in PHRASES.items():
        if any(p in text for p in phrases):
            return reason
    return None
