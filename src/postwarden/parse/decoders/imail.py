"""Ipswitch IMail Server: "Undeliverable Mail" from Postmaster, one line per
recipient in the form ``<what happened>: <address>``, then "Original message
follows.". When the remote server refused the message, its reply follows
"Body of message generated response:"."""

from __future__ import annotations

import re

from postwarden.parse.decoder import Decoded, Finding
from postwarden.parse.message import Message, first_address

NAME = "imail"
PRIORITY = 500

_END = "original message follows."
_LINE = re.compile(r"(?im)^\s*(?P<what>[A-Za-z][^:\n]{2,80}?):\s*<?(?P<addr>[^\s<>@]+@[^\s<>]+?)>?\s*$")
_REMOTE = re.compile(r"(?is)undeliverable to\s+<?(?P<addr>[^\s<>@]+@[^\s<>]+?)>?\s*\n"
                     r".{0,200}?generated response:\s*\n(?P<reply>.{1,2000})")

# IMail's own words for each reason (the text before the colon).
PHRASES: dict[str, tuple[str, ...]] = {
    # Unknown user: kijitora@example.com
    # Invalid final delivery userid: kijitora@example.co.jp
    "userunknown": ("unknown user", "invalid final delivery userid"),
    # User mailbox exceeds allowed size: kijitora@example.co.jp
    "mailboxfull": ("user mailbox exceeds allowed size",),
    # Delivery failed 20 attempts: kijitora@example.com
    "expired": ("delivery failed",),
    # Host unknown: kijitora@example.invalid
    "hostunknown": ("host unknown",),
    # Request action not taken: mailbox unavailable: a@b
    "suspend": ("mailbox unavailable",),
}


def decode(msg: Message) -> Decoded | None:
    if "undeliverable mail" not in msg.subject.lower() or "postmaster" not in msg.from_.lower():
        return None
    lower = msg.body_lower
    end = lower.find(_END)
    report = msg.body[:end] if end >= 0 else msg.body
    remote = _REMOTE.search(report)
    if remote:
        reply = " ".join(remote.group("reply").split())
        return Decoded([Finding(recipient=first_address(remote.group("addr")), diagnostic=reply)])
    if end < 0:
        return None
    findings = []
    for match in _LINE.finditer(report):
        what = match.group("what").strip()
        if what.lower() in ("to", "cc", "from", "subject", "date"):
            continue
        findings.append(Finding(
            recipient=first_address(match.group("addr")),
            diagnostic=f"{what}: {match.group('addr')}",
            reason=_reason(what.lower()),
        ))
    return Decoded(findings) if findings else None


def _reason(what: str) -> str | None:
    for reason, phrases in PHRASES.items():
        if any(what.startswith(p) for p in phrases):
            return reason
    return None
