"""Sendmail version 5 (and other pre-DSN Sendmails): no delivery-status part,
just the session transcript, where each failed recipient has a line of its own
after the exchange that failed it::

       ----- Transcript of session follows -----
    While talking to mail.example.org:
    >>> RCPT To:<a@example.org>
    <<< 550 Requested User Mailbox not found. No such user here.
    550 <a@example.org>... User unknown
    554 <b@example.net>... 550 Host unknown (Authoritative answer from name server)

       ----- Unsent message follows -----

One record per recipient line; its diagnostic is what the remote server
answered in that exchange (the ``<<<`` lines) and what Sendmail concluded.
"""

from __future__ import annotations

import re

from postwarden.parse.decoder import Decoded, Finding
from postwarden.parse.dsn import has_dsn_fields
from postwarden.parse.message import Message, clean_address, headers_of

NAME = "v5sendmail"
PRIORITY = 600

_START = "----- transcript of session follows -----"
_ENDS = ("----- unsent message follows -----", "----- original message follows -----",
         "----- message header follows -----")
_RECIPIENT = re.compile(r"^(?P<code>[45]\d\d)\s+<?(?P<addr>[^\s<>]+@[^\s<>]+?)>?\.\.\.\s*(?P<said>.*)$")
_CODE = re.compile(r"[45]\d\d(?=\s|$)")
_SENT = re.compile(r"^>>>\s*(?P<cmd>[A-Za-z]{4})")
_COMMANDS = {"helo": "HELO", "ehlo": "HELO", "mail": "MAIL", "rcpt": "RCPT", "data": "DATA"}


def decode(msg: Message) -> Decoded | None:
    if msg.dsn or has_dsn_fields(msg.body):
        return None  # a DSN, even one pasted into the text, is read as a DSN
    lower = msg.body_lower
    start = lower.find(_START)
    if start < 0:
        return None
    ends = [p for p in (lower.find(e, start) for e in _ENDS) if p >= 0]
    end = min(ends) if ends else len(lower)
    lines = msg.body[start:end].split("\n")[1:]
    replies: list[str] = []
    command: str | None = None
    seen: set[str] = set()
    findings: list[Finding] = []
    for raw in lines:
        line = raw.strip()
        if not line:
            continue
        if line.lower().startswith("while talking to"):
            replies, command = [], None
            continue
        sent = _SENT.match(line)
        if sent:
            command = _COMMANDS.get(sent.group("cmd").lower(), command)
            replies = []
            continue
        if line.startswith("<<<"):
            replies.append(line[3:].strip())
            continue
        match = _RECIPIENT.match(line)
        if match is None:
            continue
        addr = clean_address(match.group("addr"))
        if addr.lower() in seen:
            continue
        seen.add(addr.lower())
        said = match.group("said").strip()
        # "554 <a@b>... 550 Host unknown": the code Sendmail quotes is the
        # remote one; so is the remote reply in the exchange ("<<< 550 Insecure
        # Mail Relay"), unless that is a 50x complaint about syntax. Otherwise
        # Sendmail's own code on the line stands.
        quoted = _CODE.match(said)
        remote = next((m.group(0) for m in map(_CODE.match, replies) if m), None)
        if quoted:
            code = quoted.group(0)
        elif remote and not remote.startswith("50"):
            code = remote
        else:
            code = match.group("code")
        diagnostic = " ".join([*replies, said]) if replies else said
        findings.append(Finding(recipient=addr, diagnostic=diagnostic, command=command,
                                reply_code=code))
        replies, command = [], None  # the exchange is told; the next recipient has its own
    if not findings:
        return None
    original = msg.original
    if original is None and end < len(lower):
        original = headers_of(msg.body[end:].split("\n", 1)[-1])
    return Decoded(findings, original=original)
