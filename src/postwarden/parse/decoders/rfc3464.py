"""Standard delivery status notifications (RFC 3464): a ``message/delivery-status``
part, or the same fields pasted into the text by an MTA that skipped the MIME.

When the machine-readable part carries no Diagnostic-Code (or only a vague one),
the human-readable part usually quotes the remote server; that text is taken
from the lines around the recipient's address."""

from __future__ import annotations

import re

from postwarden.classify.command import detect_command
from postwarden.parse.decoder import Decoded, Finding
from postwarden.parse.dsn import findings_from_dsn, has_dsn_fields
from postwarden.parse.message import Message, first_address
from postwarden.parse.plain import has_code, mentions, transcript
from postwarden.parse.textscan import text_about

NAME = "rfc3464"
PRIORITY = 800


def decode(msg: Message) -> Decoded | None:
    texts = list(msg.dsn)
    if not texts and has_dsn_fields(msg.body):
        texts = [msg.body]
    if not texts:
        return None
    findings = []
    for text in texts:
        findings.extend(findings_from_dsn(text))
    findings = [f for f in findings if f.recipient or f.status or f.diagnostic]
    if not findings:
        return None
    for f in findings:
        about = text_about(msg.body, f.recipient) if f.recipient else ""
        if about and (not f.diagnostic or len(f.diagnostic) < 12):
            f.diagnostic = f"{f.diagnostic} {about}" if f.diagnostic else about
        if f.recipient and not _said_anything(f.diagnostic):
            extra = " ".join(x for x in (mentions(msg.body, f.recipient), transcript(msg.body)) if x)
            if extra:
                f.diagnostic = f"{f.diagnostic or ''} {extra}".strip()
        if (not f.recipient or f.recipient.startswith("@")) and f.diagnostic:
            # "Final-Recipient: rfc822; @relay.example" names no mailbox; the
            # reply about it does ("550 5.1.2 <a@b.example>... Host unknown")
            f.recipient = first_address(f.diagnostic) or f.recipient
        session = transcript(msg.body)
        f.command = detect_command(f"{f.diagnostic or ''}\n{about}\n{session}")
        if (f.diagnostic or "").startswith("x-unix;") and (f.status or "").endswith(".0.0"):
            _take_summary(f, session)
    return Decoded(findings)


# Sendmail ends its session transcript with its own summary of a local
# delivery failure, which is more precise than the DSN's "X-Unix; 255":
#    ----- Transcript of session follows -----
#   554 5.3.0 unknown mailer error 255
_SUMMARY = re.compile(r"(?:^|\s)([45]\d\d) ([45]\.\d{1,3}\.\d{1,3})\s")


def _take_summary(f: Finding, session: str) -> None:
    found = _SUMMARY.findall(session)
    if not found:
        return
    code, status = found[-1]
    if f.status and status[0] == f.status[0] and code[0] == status[0]:
        f.status, f.reply_code = status, code


def _said_anything(diagnostic: str | None) -> bool:
    """A diagnostic with a reply code or a few words of its own."""
    if not diagnostic:
        return False
    words = diagnostic.replace("<", " ").split()
    return has_code(diagnostic) and len(words) > 2
