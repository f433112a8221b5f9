"""The fallback for plain-text bounces no specific module claimed: a message
from a mail system (MAILER-DAEMON, postmaster, "Mail Delivery ...") or with a
bounce-like subject, read with the shared scanner."""

from __future__ import annotations

import re

from postwarden.parse.decoder import Decoded
from postwarden.parse.message import Message
from postwarden.parse.plain import scan

NAME = "plaintext"
PRIORITY = 950

_SENDER = re.compile(
    r"(?i)mailer-daemon|post_?master|mail ?delivery|mail ?deliver|delivery ?subsystem|"
    r"mail administrator|system administrator|ndr|bounce|mmsc"
)
_SUBJECT = re.compile(
    r"(?i)undeliver|deliver(?:y|ed)? (?:status|fail|notification|problem|error)|returned mail|"
    r"failure notice|mail delivery failed|could not be delivered|not delivered|delivery failure|"
    r"mail system error|non[- ]?remis|error sending|warning: could not send|returned to sender|"
    r"unzustellbar|nicht zustellbar|failed delivery|message delivery has failed|"
    r"delivery notification|rejected"
)


def decode(msg: Message) -> Decoded | None:
    if not (_SENDER.search(msg.from_) or _SUBJECT.search(msg.subject)):
        return None
    return scan(msg)
