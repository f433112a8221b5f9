"""au by KDDI's EZweb mail servers ("Mail System Error - Returned Mail" from
Postmaster@ezweb.ne.jp): a Japanese paragraph, an English sentence that says
what happened, then the recipients, either bare (``<a@ezweb.ne.jp>``) or with
the SMTP exchange that refused them::

    Each of the following recipients was rejected by a remote mail server.

        Recipient: <a@example.org>
        >>> RCPT TO:<a@example.org>
        <<< 550 <a@example.org>: User unknown

Some versions add a delivery-status part; its recipients are used, but the
English sentence still says why (a disabled account is answered "550 user
unknown" at RCPT time, yet it is a suspension).
"""

from __future__ import annotations

import re

from postwarden.parse.decoder import Decoded, Finding
from postwarden.parse.dsn import findings_from_dsn
from postwarden.parse.message import Message, clean_address
from postwarden.parse.textscan import text_about

NAME = "ezweb"
PRIORITY = 450

_HOSTS = ("ezweb.ne.jp", "au.com")
_RECIPIENT = re.compile(r"^\s*(?:recipient:\s*)?<(?P<a>[^\s<>]+@[^\s<>]+)>\s*$", re.IGNORECASE)
_END = re.compile(r"(?m)^--|^Return-Path:|^Received:")

# The server's English sentences.
PHRASES: dict[str, tuple[str, ...]] = {
    # The user(s) account is disabled.
    "suspend": ("the user(s) account is disabled", "the user(s) account is temporarily"),
    # Your message was not delivered within 0 days and 1 hours.
    "expired": ("your message was not delivered within",),
    # The user(s) mailbox is full.
    "mailboxfull": ("mailbox is full",),
}
# Each of the following recipients was rejected by a remote mail server.
# (with no reply quoted, it is the domain filter of the receiving phone)
_REJECTED = "each of the following recipients was rejected by a remote"


def decode(msg: Message) -> Decoded | None:
    if not any(h in msg.from_.lower() for h in _HOSTS) or "mail system error" not in msg.subject.lower():
        return None
    lower = " ".join(msg.body_lower[:20000].split())
    said = next((r for r, ps in PHRASES.items() if any(p in lower for p in ps)), None)
    findings = [f for text in msg.dsn for f in findings_from_dsn(text) if f.recipient]
    for f in findings:
        if not f.diagnostic and f.recipient:
            f.diagnostic = text_about(msg.body, f.recipient) or None
    if not findings:
        findings = _from_text(msg.body)
    for f in findings:
        if said:
            f.reason = said
        elif not f.diagnostic and _REJECTED in lower:
            f.reason = "filtered"
    return Decoded(findings) if findings else None


def _from_text(body: str) -> list[Finding]:
    findings: list[Finding] = []
    current: Finding | None = None
    lines: list[str] = []
    for raw in body.split("\n"):
        if _END.match(raw) and findings:
            break
        match = _RECIPIENT.match(raw)
        if match:
            if current is not None:
                current.diagnostic = " ".join(lines) or None
            current = Finding(recipient=clean_address(match.group("a")))
            findings.append(current)
            lines = []
            continue
        if current is not None and raw.strip().startswith((">>>", "<<<")):
            lines.append(raw.strip())
    if current is not None:
        current.diagnostic = " ".join(lines) or None
    for f in findings:
        if f.diagnostic and ">>> rcpt" in f.diagnostic.lower():
            f.command = "RCPT"
        elif f.diagnostic and ">>> mail" in f.diagnostic.lower():
            f.command = "MAIL"
    return findings
