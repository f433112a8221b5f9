"""Which SMTP command a failure answered. A recipient refused after DATA was
accepted at RCPT time, so "user unknown" there is a content filter speaking,
not a missing mailbox."""

from __future__ import annotations

import re

# All patterns run on lower-cased text; each has a cheap substring test first.
_SAID_AFTER = re.compile(
    r"(?:after|in reply to|in response to|while sending|reply to)\s+(?:the\s+)?"
    r"(end of data|data|rcpt to|rcpt|mail from|mail|helo|ehlo|initial connection|connect|starttls|auth)\b"
)
_DID_NOT_LIKE = re.compile(r"did not like our (?:final )?(data|rcpt to|rcpt|mail from|mail|helo|ehlo)\b")
_TRANSCRIPT = re.compile(
    r"(?:^|\s)(?:>>>|sent <<<|<<<\s*sent:?|->)\s*(data|rcpt|mail|helo|ehlo|auth|starttls)\b"
)
# qmail: "most progress was RCPT TO response"; "SMTP:RCPT host 192.0.2.8: 553 ..."
_PROGRESS = re.compile(r"most progress was (rcpt to|mail from|data|helo)\b|\bsmtp:(rcpt|mail|data)\b")
_PAREN = re.compile(r"\((data|rcpt to|mail from)\b")
_DATA_LINE = re.compile(r"(?m)^\s*data\s*$")
_RCPT_TAG = re.compile(r"\[rcpt_to\]|\brcpt to\s*:?\s*<")

# qmail-remote's own sentences, each naming the stage it gave up at:
# Connected to 192.0.2.1 but sender was rejected. / 192.0.2.1 does not like recipient.
_QMAIL_STAGES: tuple[tuple[str, str], ...] = (
    ("but sender was rejected", "MAIL"),
    ("does not like recipient", "RCPT"),
    ("but my name was rejected", "HELO"),
    ("but greeting failed", "CONN"),
)

_NAMES = {
    "end of data": "DATA", "data": "DATA", "rcpt to": "RCPT", "rcpt": "RCPT",
    "mail from": "MAIL", "mail": "MAIL", "helo": "HELO", "ehlo": "HELO",
    "connect": "CONN", "initial connection": "CONN", "starttls": "STARTTLS", "auth": "AUTH",
}


def detect_command(text: str) -> str | None:
    """The SMTP command named by ``text`` as the one that failed, or None."""
    if not text:
        return None
    text = text[:6000].lower()
    if "after" in text or "reply to" in text or "response to" in text or "while sending" in text:
        match = _SAID_AFTER.search(text)
        if match:
            return _NAMES[match.group(1)]
    for sentence, name in _QMAIL_STAGES:
        if sentence in text:
            return name
    if "did not like our" in text:
        match = _DID_NOT_LIKE.search(text)
        if match:
            return _NAMES[match.group(1)]
    if "most progress was" in text or "smtp:" in text:
        match = _PROGRESS.search(text)
        if match:
            return _NAMES[match.group(1) or match.group(2)]
    if ">>>" in text or "<<<" in text or "->" in text:
        found = _TRANSCRIPT.findall(text)
        if found:
            return _NAMES[found[-1]]
    if "(" in text:
        match = _PAREN.search(text)
        if match:
            return _NAMES[match.group(1)]
    if "data" in text and _DATA_LINE.search(text):
        return "DATA"
    if "rcpt" in text and _RCPT_TAG.search(text):
        return "RCPT"
    return None
