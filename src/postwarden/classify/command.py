"""Which SMTP command a failure answered. A recipient refused after DATA was
accepted at RCPT time, so "user unknown" there is a content filter speaking,
not a missing mailbox."""

from __future__ import annotations

import re

_SAID_AFTER = re.compile(
    r"(?i)(?:after|in reply to|in response to|while sending|reply to)\s+(?:the\s+)?"
    r"(end of data|data|rcpt to|rcpt|mail from|mail|helo|ehlo|initial connection|connect|starttls|auth)\b"
)
_DID_NOT_LIKE = re.compile(r"(?i)did not like our (?:final )?(data|rcpt to|rcpt|mail from|mail|helo|ehlo)\b")
_TRANSCRIPT = re.compile(
    r"(?i)(?:^|\s)(?:>>>|sent <<<|<<<\s*sent:?|->)\s*(data|rcpt|mail|helo|ehlo|auth|starttls)\b"
)
# qmail: "most progress was RCPT TO response"; "SMTP:RCPT host 192.0.2.8: 553 ..."
_PROGRESS = re.compile(r"(?i)most progress was (rcpt to|mail from|data|helo)\b|\bsmtp:(rcpt|mail|data)\b")
_PAREN = re.compile(r"(?i)\((data|rcpt to|mail from)\b")
_RCPT_TAG = re.compile(r"(?i)\[rcpt_to\]|\brcpt to\s*:?\s*<")

_NAMES = {
    "end of data": "DATA", "data": "DATA", "rcpt to": "RCPT", "rcpt": "RCPT",
    "mail from": "MAIL", "mail": "MAIL", "helo": "HELO", "ehlo": "HELO",
    "connect": "CONN", "initial connection": "CONN", "starttls": "STARTTLS", "auth": "AUTH",
}


def detect_command(text: str) -> str | None:
    """The SMTP command named by ``text`` as the one that failed, or None."""
    if not text:
        return None
    text = text[:6000]
    match = _SAID_AFTER.search(text) or _DID_NOT_LIKE.search(text)
    if match:
        return _NAMES[match.group(1).lower()]
    match = _PROGRESS.search(text)
    if match:
        return _NAMES[(match.group(1) or match.group(2)).lower()]
    found = _TRANSCRIPT.findall(text)
    if found:
        return _NAMES[found[-1].lower()]
    match = _PAREN.search(text)
    if match:
        return _NAMES[match.group(1).lower()]
    if re.search(r"(?m)^\s*DATA\s*$", text):
        return "DATA"
    if _RCPT_TAG.search(text):
        return "RCPT"
    return None
