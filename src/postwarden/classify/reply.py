"""Turn a diagnostic (an SMTP reply, a log line, a provider's prose) plus what
else is known (status code, failed SMTP command, remote host) into a reason.

The rule, in order:

1. a provider table for the remote host, when its phrase matches;
2. the most specific phrase of the reason table (the longest match wins; the
   table order breaks ties);
3. the enhanced status code on its own;
4. what the context implies (a delayed action means expired, a refused
   ``MAIL FROM`` means the sender was rejected);
5. otherwise ``onhold`` when there is a failure we cannot name, or ``undefined``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from postwarden.classify import providers
from postwarden.classify.reasons import (
    ALIASES,
    BY_NAME,
    DIRECTORY_MISSES,
    OVERRIDES,
    REASONS,
    REFUSED_AT_MAIL,
    SENDER_SIDE,
)
from postwarden.classify.status import (
    PROVIDER_STATUS,
    find_reply_code,
    find_status,
    is_private,
    status_reason,
)

MAX_TEXT = 4096

# Which reasons to try, most specific first; the order only breaks ties between
# phrases of equal length.
MATCH_ORDER: tuple[str, ...] = (
    "notcompliantrfc", "authfailure", "requireptr", "failedstarttls", "norelaying",
    "hasmoved", "mailboxfull", "mesgtoobig", "exceedlimit", "virusdetected",
    "spamdetected", "badreputation", "toomanyconn", "speeding", "suspend",
    "hostunknown", "userunknown", "notaccept", "rejected", "filtered",
    "policyviolation", "blocked", "contenterror", "securityerror", "syntaxerror",
    "mailererror", "systemfull", "expired", "networkerror", "systemerror",
)

_TABLE: tuple[tuple[str, tuple[str, ...]], ...] = tuple(
    (name, BY_NAME[name].phrases) for name in MATCH_ORDER
)


# "550-5.7.1 ... 550-5.7.1 ..." continuation prefixes inside a multi-line reply.
# "... -> 550 : User unknown" (a relay quoting the reply it met) is not one.
_CONTINUATION = re.compile(r"(?<=\S)\s[245]\d\d[ -](?!:)(?:[245]\.\d{1,3}\.\d{1,3}\s)?")

# "553 neko.example.com does not exist": a domain, not a mailbox, is missing.
_DOMAIN_MISSING = re.compile(
    r"(?:^|[\s:])(?:[a-z0-9-]{1,63}\.){1,8}[a-z]{2,24}\.? (?:does not exist|not found)"
)

# Reasons whose phrases are generic symptoms: used only when no other reason's
# phrase matches ("mailbox is full: retry timeout exceeded" is a full mailbox).
# Status codes specific enough to win over any phrase (RFC 3463 X.1.2 bad
# destination system, X.2.2 mailbox full, X.7.26 authentication failed, ...).
STRONG_STATUS: frozenset[str] = frozenset(
    {"1.2", "1.6", "1.8", "2.2", "2.3", "3.4", "4.5", "7.13", "7.25", "7.26", "7.20", "7.21",
     "7.22", "7.23", "7.24", "7.27"}
)

# Sentences MTAs wrap around the remote reply that say nothing about the reason.
NOISE: tuple[str, ...] = (
    "google tried to deliver your message, but it was rejected by the server for the recipient domain",
    "google tried to deliver your message, but it was rejected by the recipient domain",
    "we recommend contacting the other email provider for further information about the cause of this error",
    "technical details of permanent failure",
    "the error that the other server returned was",
    # Amazon SES prefixes the remote reply with its own category:
    # 5.1.0 - Unknown address error 550-'5.7.1 <a@b>... Access denied'
    "unknown address error", "other mail system problem",
)

# Reasons a server can give when refusing a connection or a greeting; any other
# refusal at that point is about the connecting client: ``blocked``.
_SAID_AT_CONNECT: frozenset[str] = frozenset({
    "toomanyconn", "speeding", "failedstarttls", "badreputation", "networkerror", "systemerror",
    "systemfull", "expired", "requireptr",
})

WEAK: frozenset[str] = frozenset({"expired", "networkerror", "systemerror"})

# Reasons a reporting MTA's own classification (a decoder's ``hint``) may give
# only as a default: the remote server's words, when they name a reason, are
# more precise (PowerMTA files "550 5.2.1 ... (mailbox disabled)" under
# bad-mailbox too). Any other hint is the format's final word.
HINT_DEFAULT_ONLY: frozenset[str] = frozenset({
    "userunknown", "hostunknown", "expired", "networkerror", "systemerror", "securityerror",
    "onhold", "undefined",
})


# A sending MTA that gave up on the message when its queue lifetime ran out
# (qmail and its clones: "I'm not going to try again; this message has been in
# the queue too long."). The temporary troubles it met on the way (a network or
# system error, a mailbox "temporarily unavailable") are not the reason: the
# message expired. A remote verdict it quotes (a full mailbox, a block) still is.
GAVE_UP: tuple[str, ...] = ("this message has been in the queue too long",)
# The reasons such a notice overrides: temporary symptoms, not a remote verdict.
GAVE_UP_OVER: frozenset[str] = frozenset({
    "networkerror", "systemerror", "suspend", "onhold", "undefined", "expired",
})


# Gmail's older notices end the remote reply with "(state N)": the stage of its
# own SMTP session where the reply came, and for some stages the reason Gmail
# files it under. The stage reason holds only where the remote status has no
# detail of its own (X.Y.0 or none): "550 5.1.1 ... (state 14)" stays a
# missing mailbox.
#   554 554 5.7.0 Header error (state 18).
#   550 550 5.1.1 <a@b>... User Unknown (state 14).
#   500 Remote server does not support TLS (state 6).
# (State 13, after EHLO, is left out: its replies name their reason themselves,
# "Access denied" or "blocked using ...".)
GMAIL_STATES: dict[str, tuple[str, str | None]] = {
    "6": ("MAIL", "failedstarttls"),
    "14": ("RCPT", None),
    "15": ("DATA", "filtered"),
    "17": ("DATA", "filtered"),
    "18": ("DATA", "filtered"),
}
_GMAIL_STATE = re.compile(r"\(state (\d{1,2})\)")


def _gmail_state(text: str) -> tuple[str, str | None] | None:
    if "google tried to deliver your message" not in text or "(state " not in text:
        return None
    match = _GMAIL_STATE.search(text)
    return GMAIL_STATES.get(match.group(1)) if match else None


@dataclass(frozen=True)
class ReplyVerdict:
    reply_code: str | None
    status: str | None
    reason: str
    hard_bounce: bool
    sender_side: bool


def _flatten(weak: bool) -> tuple[tuple[int, str, str, str], ...]:
    """(length, phrase, first four characters, reason), longest first; equal
    lengths keep the table order."""
    rows = [
        (len(phrase), order, phrase, name)
        for order, (name, phrases) in enumerate(_TABLE)
        if (name in WEAK) == weak
        for phrase in phrases
    ]
    rows.sort(key=lambda r: (-r[0], r[1]))
    return tuple((length, phrase, phrase[:4], name) for length, _, phrase, name in rows)


_STRONG_ROWS = _flatten(weak=False)
_WEAK_ROWS = _flatten(weak=True)


def phrase_reason(text: str) -> tuple[str | None, int]:
    """The reason whose phrase matches ``text`` (lower-case) most specifically,
    and the length of that phrase (0 when nothing matched). Phrases of the weak
    reasons count only when nothing else matched."""
    grams = {text[i : i + 4] for i in range(len(text) - 3)}
    for rows in (_STRONG_ROWS, _WEAK_ROWS):
        for length, phrase, head, name in rows:
            if (length < 4 or head in grams) and phrase in text:
                return name, length
    return None, 0


def decide(
    diagnostic: str | None,
    status: str | None = None,
    reply_code: str | None = None,
    *,
    action: str | None = None,
    command: str | None = None,
    remote_mta: str | None = None,
    domain: str | None = None,
    reporting_mta: str | None = None,
    note: str | None = None,
    hint: str | None = None,
) -> str:
    """The reason for one failed (or delayed, or delivered) recipient.

    ``note`` is more of the reporting MTA's words (a DSN status comment), read
    with the diagnostic; ``hint`` is the reporting MTA's own classification
    (see :data:`HINT_DEFAULT_ONLY`)."""
    action = (action or "").lower()
    if action in ("delivered", "relayed", "expanded") or (status or "").startswith("2"):
        return "delivered"
    if hint and hint not in HINT_DEFAULT_ONLY:
        return hint
    if note:
        diagnostic = f"{diagnostic or ''} ({note})"
    if action == "expired":
        return "expired"  # "Action: expired" (SendGrid): the sender's queue gave up
    text = _CONTINUATION.sub(" ", " ".join((diagnostic or "")[:MAX_TEXT].lower().split()))
    stage = _gmail_state(text)
    if stage:
        command = stage[0]
        if stage[1] and (not status or status.endswith(".0")):
            return stage[1]
    for noise in NOISE:
        if noise in text:
            text = text.replace(noise, " ")
    if text:
        upper = (command or "").upper() or None
        found = providers.match(text, remote_mta, domain, status, upper)
        if not found and reporting_mta and reporting_mta != remote_mta:
            # the provider's own MTA wrote the report: the words are its own
            found = providers.match(text, reporting_mta, None, status, upper)
        if found:
            return found
    for phrase, forced in OVERRIDES:
        if phrase in text:
            return forced
    by_phrase, length = phrase_reason(text) if text else (None, 0)
    if by_phrase == "userunknown" and _DOMAIN_MISSING.search(text):
        by_phrase = "hostunknown"
    by_status = None if is_private(status) else status_reason(status)
    provider_code = status in PROVIDER_STATUS and status[2:] != "4.7"  # X.4.7 is RFC 3463's
    if by_status and status and (status[2:] in STRONG_STATUS or provider_code):
        by_phrase = by_status
    elif (
        by_phrase and by_status and by_phrase != by_status and length < 8
        and by_status not in ("syntaxerror", "systemerror", "networkerror")
    ):
        by_phrase = by_status  # a short, vague phrase yields to the code
    reason = by_phrase or by_status or hint
    at_mail = (command or "").upper() == "MAIL"
    if reason in ("userunknown", "hostunknown") and at_mail:
        return "rejected"  # the address that does not exist is the sender's
    if reason == "securityerror" and at_mail and any(p in text for p in REFUSED_AT_MAIL):
        return "rejected"  # the sender was refused
    if (reason == "userunknown" and hint != "userunknown" and _filtered_context(status, command)
            and not any(p in text for p in DIRECTORY_MISSES)):
        # (the reporting MTA's own "bad mailbox" classification says where the
        # receiver refused: a missing mailbox, not a filter)
        return "filtered"
    if (command or "").upper() in ("CONN", "HELO") and reason not in _SAID_AT_CONNECT:
        return "blocked"  # refused before any address was given: the client is refused
    if reason == "networkerror" and action == "failed" and status == "4.4.1":
        return "expired"  # a temporary network failure that outlived the retry period
    vague_status = not status or status[1:] == ".0.0"
    if (reason == "networkerror" and vague_status and (reply_code or "")[:1] == "4"
            and action in ("failed", "")):
        # the message came back although the server only ever answered with a
        # temporary (4xx) reply: the sender gave up retrying
        return "expired"
    if (reason in GAVE_UP_OVER or not reason) and any(p in text for p in GAVE_UP):
        return "expired"
    if reason:
        return reason
    if action == "delayed":
        return "expired"
    command = (command or "").upper()
    if command == "MAIL":
        return "rejected"
    if status or reply_code or text:
        return "onhold"
    return "undefined"


def _filtered_context(status: str | None, command: str | None) -> bool:
    """"User unknown" is a missing mailbox only when the receiver said so where
    it decides that: in reply to ``RCPT TO``, or with a status code about the
    mailbox (X.1.x). The same words anywhere else (after DATA, with no command
    named and no such code, or under X.2.x / X.7.x) come from a filter that
    refuses the message, not from a missing mailbox."""
    command = (command or "").upper()
    if command in ("RCPT", "MAIL"):
        return False
    # X.1.x: the destination mailbox address is the problem
    return not (status and not is_private(status) and status[2:4] == "1.")


def is_hard_bounce(reason: str, status: str | None = None, reply_code: str | None = None) -> bool:
    """True when the *address* is bad: a reason to stop mailing it at once."""
    reason = ALIASES.get(reason, reason)
    row = BY_NAME.get(reason)
    if row is None:
        return False
    if reason == "notaccept":
        return (status or reply_code or "5").startswith("5")
    return row.hard


def classify_reply(text: str) -> ReplyVerdict:
    """Classify one SMTP reply or log line on its own, e.g.
    ``550 5.1.1 <a@b>: Recipient address rejected: User unknown``."""
    text = (text or "")[:MAX_TEXT]
    reply_code = find_reply_code(text)
    status = find_status(text)
    if status is None and reply_code and reply_code[0] in "245":
        status = None
    reason = decide(text, status, reply_code)
    if reason in ("onhold", "undefined") and reply_code and reply_code.startswith("2"):
        reason = "delivered"
    return ReplyVerdict(
        reply_code=reply_code,
        status=status,
        reason=reason,
        hard_bounce=is_hard_bounce(reason, status, reply_code),
        sender_side=reason in SENDER_SIDE,
    )


__all__ = ["REASONS", "ReplyVerdict", "classify_reply", "decide", "is_hard_bounce"]
