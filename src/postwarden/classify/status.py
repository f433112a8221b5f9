"""Enhanced status codes (RFC 3463 and the registry extensions) and SMTP reply
codes: finding them in text and what each one says on its own."""

from __future__ import annotations

import re

# A reply code at the start of a line or after "said:"/"; " and so on, then an
# optional enhanced code. Bounded repetition only: linear on any input.
_REPLY = re.compile(
    r"(?<![\d.\-/:#])([245][0-5][0-9])(?:[ \-]|:\s|$)(?:\s{0,4}['#]?([245]\.\d{1,3}\.\d{1,3}))?"
)
_STATUS = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.]\d)")

# What a status code says when the text says nothing more specific. Codes whose
# meaning depends on the receiver (5.7.1 above all) are deliberately absent.
STATUS_REASONS: dict[str, str] = {
    "1.1": "userunknown",       # Bad destination mailbox address
    "1.2": "hostunknown",       # Bad destination system address
    "1.3": "userunknown",       # Bad destination mailbox address syntax
    "1.4": "userunknown",       # Destination mailbox address ambiguous
    "1.5": "delivered",         # Destination address valid
    "1.6": "hasmoved",          # Destination mailbox has moved, no forwarding address
    "1.7": "rejected",          # Bad sender's mailbox address syntax
    "1.8": "rejected",          # Bad sender's system address
    "1.10": "notaccept",        # Recipient address has null MX (RFC 7505)
    "2.1": "suspend",           # Mailbox disabled, not accepting messages
    "2.2": "mailboxfull",       # Mailbox full
    "2.3": "exceedlimit",       # Message length exceeds administrative limit
    "2.4": "systemerror",       # Mailing list expansion problem
    "3.1": "systemfull",        # Mail system full
    "3.2": "notaccept",         # System not accepting network messages
    "3.3": "systemerror",       # System not capable of selected features
    "3.4": "mesgtoobig",        # Message too big for system
    "3.5": "systemerror",       # System incorrectly configured
    "4.1": "networkerror",      # No answer from host
    "4.2": "networkerror",      # Bad connection
    "4.3": "systemerror",       # Directory server failure
    "4.4": "hostunknown",       # Unable to route (no such destination)
    "4.5": "systemfull",        # Mail system congestion
    "4.6": "networkerror",      # Routing loop detected
    "4.7": "expired",           # Delivery time expired
    "5.0": "syntaxerror",
    "5.1": "syntaxerror",       # Invalid command
    "5.2": "syntaxerror",       # Syntax error
    "5.3": "exceedlimit",       # Too many recipients
    "5.4": "syntaxerror",       # Invalid command arguments
    "5.5": "syntaxerror",       # Wrong protocol version
    "6.0": "contenterror",
    "6.1": "contenterror",      # Media not supported
    "6.2": "contenterror",      # Conversion required and prohibited
    "6.3": "contenterror",
    "6.5": "contenterror",
    "7.2": "systemerror",       # Mailing list expansion prohibited
    "7.3": "securityerror",     # Security conversion required but not possible
    "7.4": "securityerror",     # Security features not supported
    "7.5": "securityerror",     # Cryptographic failure
    "7.6": "securityerror",     # Cryptographic algorithm not supported
    "7.7": "securityerror",     # Message integrity failure
    "7.8": "securityerror",     # Authentication credentials invalid
    "7.9": "securityerror",     # Authentication mechanism is too weak
    "7.10": "failedstarttls",   # Encryption needed
    "7.11": "failedstarttls",   # Encryption required for requested authentication mechanism
    "7.13": "suspend",          # User account disabled
    "7.14": "securityerror",    # Trust relationship required
    "7.15": "securityerror",    # Priority level is too low
    "7.16": "mesgtoobig",       # Message too big for specified priority
    "7.17": "hasmoved",         # Mailbox owner has changed
    "7.18": "hasmoved",         # Domain owner has changed
    "7.20": "authfailure",      # No passing DKIM signature found
    "7.21": "authfailure",      # No acceptable DKIM signature found
    "7.22": "authfailure",      # No valid author-matched DKIM signature found
    "7.23": "authfailure",      # SPF validation failed
    "7.24": "authfailure",      # SPF validation error
    "7.25": "requireptr",       # Reverse DNS validation failed
    "7.26": "authfailure",      # Multiple authentication checks failed
    "7.27": "notaccept",        # Sender address has null MX
    "7.28": "speeding",         # Mail flood detected
    "7.29": "authfailure",      # ARC validation failure
    "7.30": "failedstarttls",   # REQUIRETLS support required
}

# Provider-specific enhanced codes (full code -> reason).
PROVIDER_STATUS: dict[str, str] = {
    # 550 5.7.606 Access denied, banned sending IP [192.0.2.1] (Microsoft; 606-649 are IP bans)
    "5.7.606": "blocked", "5.7.607": "blocked", "5.7.608": "blocked", "5.7.609": "blocked",
    # 550 5.7.509 Access denied, sending domain example.com does not pass DMARC verification
    "5.7.509": "authfailure", "5.7.510": "authfailure", "5.7.515": "authfailure",
    # 550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain
    "5.7.54": "norelaying",
    # 550 5.4.316 Message expired, connection refused(Socket error code 10061)
    "5.4.316": "expired",
    # 550 5.4.312 Message expired, DNS query failed(ServerFailure)
    "5.4.312": "networkerror",
    # 451 4.7.650 The mail server [192.0.2.1] has been temporarily rate limited due to IP reputation.
    "4.7.650": "badreputation", "4.7.651": "badreputation", "4.7.652": "badreputation",
    # 550 5.1.351 Remote Server returned '550 5.1.351 ... User unknown'
    "5.1.351": "userunknown",
    "4.4.7": "expired", "5.4.7": "expired",
}


def find_status(text: str) -> str | None:
    """The first enhanced status code in ``text`` (class 2, 4 or 5)."""
    reply = _failing_reply(text)
    if reply and reply.group(2):
        code = reply.group(2)
        klass, subject, detail = code.split(".")
        return f"{klass}.{int(subject)}.{int(detail)}"
    match = _STATUS.search(text[:4096])
    if match is None:
        return None
    return f"{match.group(1)}.{int(match.group(2))}.{int(match.group(3))}"


def replied_status(text: str) -> str | None:
    """The enhanced code written right after a reply code ("550 5.7.1 ..."), if any."""
    reply = _failing_reply(text)
    if reply and reply.group(2):
        klass, subject, detail = reply.group(2).split(".")
        return f"{klass}.{int(subject)}.{int(detail)}"
    return None


# "ERROR_CODE :550", "ResponseCode 421": a reply code behind a label.
_LABELLED_REPLY = re.compile(
    r"(?i)\b(?:error_code|response ?code|reply ?code|smtp ?code)\s*[:=]?\s*([245]\d\d)\b"
)


def find_reply_code(text: str) -> str | None:
    """The first SMTP reply code in ``text`` that looks like one."""
    match = _failing_reply(text)
    if match:
        return match.group(1)
    labelled = _LABELLED_REPLY.search(text[:4096])
    return labelled.group(1) if labelled else None


def _failing_reply(text: str) -> re.Match[str] | None:
    """The first 4xx/5xx reply in ``text``, else the first reply of any kind
    (a transcript shows "250 Ok" before the failure)."""
    first = None
    for match in _REPLY.finditer(text[:4096]):
        if match.group(1)[0] in "45":
            return match
        if first is None:
            first = match
    return first


def status_reason(status: str | None) -> str | None:
    """What ``status`` alone says, or None when it says nothing definite."""
    if not status:
        return None
    if status in PROVIDER_STATUS:
        return PROVIDER_STATUS[status]
    klass, _, rest = status.partition(".")
    if klass == "2":
        return "delivered"
    return STATUS_REASONS.get(rest)


def is_private(status: str | None) -> bool:
    """Codes a tool made up (x.0.9xx, x.9.xxx) rather than registered ones."""
    if not status:
        return False
    parts = status.split(".")
    return len(parts) == 3 and ((parts[1] == "0" and len(parts[2]) == 3) or parts[1] == "9")
