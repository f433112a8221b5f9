"""From raw bytes to a :class:`ParseResult`: build the message view, let the
decoders look at it in priority order, then fill in and classify each record."""

from __future__ import annotations

import re

from postwarden.classify.command import detect_command
from postwarden.classify.reply import decide, is_hard_bounce
from postwarden.classify.status import find_reply_code, find_status, replied_status
from postwarden.parse import mime
from postwarden.parse.decoder import Decoded, Finding
from postwarden.parse.decoders import DECODERS
from postwarden.parse.dsn import normalise_status
from postwarden.parse.message import (
    Message,
    attached_report,
    build,
    clean_address,
    first_address,
    forwarded_report,
)
from postwarden.parse.mime import Headers
from postwarden.parse.model import DeliveryStatus, OriginalMessage, ParseResult

MAX_DIAGNOSTIC = 2000
_QUOTED_REPLY = re.compile(r"<([45]\d\d)[ -]([45]\.\d{1,3}\.\d{1,3})\s[^<>]{1,300}>")


def parse_message(raw: bytes) -> ParseResult:
    """Parse one raw RFC 5322 message. Never raises: a message that cannot be
    understood gives a result with ``error`` set."""
    try:
        if not isinstance(raw, bytes | bytearray | memoryview):
            return ParseResult(error=f"expected bytes, got {type(raw).__name__}")
        raw = bytes(raw)
        if not raw.strip():
            return ParseResult(error="empty message")
        if raw.startswith(b"From "):
            return _parse_mbox(mime.normalize_newlines(raw))
        return _parse(raw)
    except RecursionError:
        return ParseResult(error="message nests too deeply")
    except Exception as exc:  # the parser must survive any input; report, never raise
        return ParseResult(error=f"internal error: {type(exc).__name__}: {exc}")


# Where a following message starts in an mbox: a "From " line with the
# asctime() postmark, "From MAILER-DAEMON  Thu Jul  2 12:05:05 2020".
_MBOX_SEPARATOR = re.compile(
    rb"\nFrom \S+ +[A-Z][a-z]{2} [A-Z][a-z]{2} +\d{1,2} \d\d:\d\d(?::\d\d)? [^\n]{0,40}\n"
)
MAX_MBOX_MESSAGES = 100


def _parse_mbox(raw: bytes) -> ParseResult:
    """A message that is really an mbox (files saved from a mail client often
    are): each message is parsed and their records are reported together."""
    body = raw.split(b"\n", 1)[1] if b"\n" in raw else b""
    chunks = _MBOX_SEPARATOR.split(body, maxsplit=MAX_MBOX_MESSAGES - 1)
    if len(chunks) == 1:
        return _parse(body)
    results = [_parse(chunk + b"\n") for chunk in chunks if chunk.strip()]
    found = [r for r in results if r.records or r.kind != "none"]
    if not found:
        return results[0] if results else ParseResult(error="empty mbox")
    first = found[0]
    kinds = {r.kind for r in found}
    return ParseResult(
        kind=first.kind if len(kinds) == 1 else "bounce",
        records=[rec for r in found for rec in r.records],
        original=first.original,
        complaint=first.complaint,
        decoder=first.decoder,
    )


def _parse(raw: bytes) -> ParseResult:
    msg = build(raw)
    if not len(msg.headers) and not msg.body.strip():
        return ParseResult(error="no header fields and no body: not a message")
    msg = attached_report(msg) or forwarded_report(msg) or msg
    decoded: Decoded | None = None
    name: str | None = None
    for decoder in DECODERS:
        result = decoder.decode(msg)
        if result is not None and (result.findings or result.kind):
            decoded, name = result, decoder.NAME
            break
    if decoded is None:
        return ParseResult(kind="none", original=None)
    records = [_finish(f) for f in decoded.findings]
    records = _dedupe(records)
    kind = decoded.kind or _kind_of(records)
    original = _original(decoded.original or msg.original, msg)
    return ParseResult(
        kind=kind,
        records=records,
        original=original,
        complaint=decoded.complaint,
        decoder=name,
    )


def _finish(f: Finding) -> DeliveryStatus:
    diagnostic = " ".join(f.diagnostic.split())[:MAX_DIAGNOSTIC] if f.diagnostic else None
    status = f.status
    said = replied_status(diagnostic) if diagnostic else None
    if said and (not status or not said.endswith(".0.0")
                 or (status[0] == said[0] and status.endswith(".0.0"))):
        # what the remote server said beats the local MTA's summary, unless it
        # says less ("451 4.0.0" under "Status: 4.5.0")
        status = said
    elif diagnostic and (not status or status.endswith(".0.0")):
        found = find_status(diagnostic)
        if found and (not status or found[0] == status[0]):
            status = found
    reply_code = f.reply_code or (find_reply_code(diagnostic) if diagnostic else None)
    quoted = _QUOTED_REPLY.search(diagnostic) if diagnostic and not f.reply_code else None
    if quoted:
        # "554 4.4.7 Message expired: unable to deliver in 840 minutes.<421 4.4.2
        # Connection timed out>": the local summary quotes the last remote reply.
        reply_code, status = quoted.group(1), normalise_status(quoted.group(2))
    if f.reason in ("feedback", "vacation"):
        reason = f.reason
    else:
        reason = f.reason or decide(
            diagnostic, status, reply_code, action=f.action,
            command=f.command or detect_command(diagnostic or ""),
            remote_mta=f.remote_mta,
            domain=_domain(f.recipient),
            reporting_mta=f.reporting_mta,
            note=f.note,
            hint=f.hint,
        )
    if not status and reason not in ("feedback", "vacation"):
        status = _default_status(reason, reply_code, diagnostic, f.action)
    if reply_code and status and reply_code[0] != status[0] and status[0] in "45":
        reply_code = None  # "550 4.4.7": the code and the status disagree; the status wins
    recipient = clean_address(f.recipient) if f.recipient else None
    return DeliveryStatus(
        recipient=recipient or None,
        original_recipient=f.original_recipient,
        action=f.action or _default_action(reason, status),
        status=status,
        reply_code=reply_code,
        reason=reason,
        hard_bounce=is_hard_bounce(reason, status, reply_code),
        diagnostic=diagnostic,
        remote_mta=f.remote_mta,
        reporting_mta=f.reporting_mta,
        arrival_date=f.arrival_date,
        last_attempt_date=f.last_attempt_date,
        feedback_type=f.feedback_type,
    )


def _domain(address: str | None) -> str | None:
    if not address or "@" not in address:
        return None
    return address.rpartition("@")[2].strip("<>. ") or None


# Reasons that can be temporary (a full mailbox may empty, an expired message
# may have met only temporary errors): their synthesised status is class 4 when
# the report says the errors were temporary. The rest are always class 5.
_CAN_BE_TEMPORARY = frozenset({
    "undefined", "hasmoved", "mailboxfull", "exceedlimit", "systemfull", "expired", "suspend",
})
# Words that say the errors met were temporary ones.
_TEMPORARY_SIGNS = (
    " temporar", " persistent",
    # Exim: "retry timeout exceeded" / "all hosts have been failing for a long time"
    # (it gave up after only temporary failures)
    "retry timeout exceeded", "have been failing for a long time",
)


def _default_status(
    reason: str, reply_code: str | None, diagnostic: str | None, action: str | None
) -> str:
    """A status for a record whose report gave none: the class comes from the
    first code in the reply (5 permanent, 4 temporary), or "permanent" said in
    words; a reason that can be temporary gets class 4 when the text says the
    error is temporary or persistent; otherwise class 5."""
    if reason == "delivered":
        return "2.0.0"
    text = f"{reply_code or ''} {diagnostic or ''}"
    code = find_status(text) or find_reply_code(text)
    if code and code[0] == "5":
        return "5.0.0"
    if code and code[0] == "4":
        return "4.0.0"
    if " permanent " in text.lower():
        return "5.0.0"
    lower = text.lower()
    if reason in _CAN_BE_TEMPORARY and any(sign in lower for sign in _TEMPORARY_SIGNS):
        return "4.0.0"
    return "5.0.0"


def _default_action(reason: str, status: str | None) -> str | None:
    if reason in ("feedback", "vacation"):
        return None
    if reason == "delivered":
        return "delivered"
    if status and status.startswith("4"):
        return "delayed"
    return "failed"


def _dedupe(records: list[DeliveryStatus]) -> list[DeliveryStatus]:
    seen: set[tuple[str | None, str | None, str | None]] = set()
    out: list[DeliveryStatus] = []
    for r in records:
        key = ((r.recipient or "").lower() or None, r.status, r.reason)
        if key in seen and r.recipient:
            continue
        seen.add(key)
        out.append(r)
    return out


def _kind_of(records: list[DeliveryStatus]) -> str:
    if not records:
        return "none"
    reasons = {r.reason for r in records}
    if "feedback" in reasons:
        return "complaint"
    if "vacation" in reasons:
        return "autoreply"
    if reasons == {"delivered"}:
        return "delivered"
    if all(r.action == "delayed" for r in records):
        return "delay"
    return "bounce"


def _original(headers: Headers | None, msg: Message) -> OriginalMessage | None:
    if headers is None or not len(headers):
        return None
    def field(name: str) -> str | None:
        value = headers.get(name)
        return mime.decode_words(value) if value else None
    envelope = headers.get("return-path") or None
    if envelope:
        envelope = first_address(envelope) or clean_address(envelope) or None
    return OriginalMessage(
        message_id=(headers.get("message-id") or None),
        subject=field("subject"),
        from_=field("from"),
        to=field("to"),
        envelope_sender=envelope,
    )
