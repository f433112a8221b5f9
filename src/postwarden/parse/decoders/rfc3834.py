"""Automatic replies (RFC 3834 and the usual vacation / out-of-office forms).
They are never bounces: the record says ``vacation``, unless the reply itself
says the mailbox is no longer in use (then ``suspend``: stop, but not a bad
address)."""

from __future__ import annotations

import re

from postwarden.parse.decoder import Decoded, Finding
from postwarden.parse.message import Message, first_address

NAME = "rfc3834"
PRIORITY = 850

_SUBJECT = re.compile(
    r"(?i)^\s*(?:auto(?:matic)?[ _-]?(?:reply|response|respons|antwort)|autoreply|autorespond"
    r"|out of (?:the )?office|vacation|away from|abwesenheit|absence|r[ée]ponse automatique"
    r"|risposta automatica|respuesta autom[aá]tica|automatisch|auto:|away until|on leave"
    r"|i am away|i'm away|i am out|not in the office)"
)
_HEADER_MARKS = (
    "x-autoreply", "x-autorespond", "x-auto-reply", "x-ms-exchange-inbox-rules-loop",
)
# "This email inbox kijitora@example.com is no longer in use."
_GONE = ("no longer in use", "no longer monitored", "is no longer active", "no longer being monitored",
         "is not monitored", "no longer checked", "inbox is no longer")
_DAEMON = re.compile(r"(?i)mailer-daemon|postmaster|mail delivery")
_BOUNCE_SUBJECT = re.compile(
    r"(?i)undeliver|deliver(?:y|ed)? (?:status|fail|notification)|returned mail|failure|"
    r"bounce|non[- ]?remis|mail system error|could not be delivered|not delivered|rejected"
)


def decode(msg: Message) -> Decoded | None:
    headers = msg.headers
    auto = headers.get("auto-submitted").lower()
    precedence = headers.get("precedence").lower()
    subject = msg.subject
    signs = 0
    if auto.startswith("auto-replied"):
        signs += 2
    if any(h in headers for h in _HEADER_MARKS):
        signs += 2
    if "auto_reply" in precedence or "auto-reply" in precedence:
        signs += 2
    if _SUBJECT.search(subject):
        signs += 2
    if signs < 2 or _BOUNCE_SUBJECT.search(subject):
        return None
    if msg.dsn or msg.feedback is not None or _DAEMON.search(msg.from_):
        return None
    sender = first_address(msg.from_) or first_address(headers.get("reply-to"))
    if not sender:
        return None
    body = " ".join(msg.body_lower[:4000].split())
    if any(p in body for p in _GONE):
        return Decoded(
            [Finding(recipient=sender, reason="suspend", action="failed",
                     diagnostic=" ".join(msg.body[:1000].split()))],
            kind="bounce",
        )
    return Decoded(
        [Finding(recipient=sender, reason="vacation", diagnostic=" ".join(msg.body[:500].split()))],
        kind="autoreply",
    )
