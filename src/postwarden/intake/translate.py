"""From what the parser understood to the ledger's one record shape: pure."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from postwarden.address import normalize
from postwarden.errors import InvalidAddress
from postwarden.ledger.feedback import Feedback
from postwarden.parse import DeliveryStatus, ParseResult
from postwarden.tokens import VerpRef

# A DSN action says more about one recipient than the message's overall kind.
ACTION_KINDS = {"failed": "bounce", "delayed": "delay", "delivered": "delivered",
                "relayed": "delivered", "expanded": "delivered"}


def feedback_from(result: ParseResult, raw: bytes, verp: VerpRef | None, source: str) -> list[Feedback]:
    """One Feedback per affected recipient. When the parser found nothing but a valid
    VERP token names the recipient, the message is still a bounce for that recipient:
    its reason unknown, so it counts as a soft bounce and never suppresses at once."""
    message_id = result.original.message_id if result.original else None
    if message_id is None and verp is not None and verp.message_ref:
        message_id = f"ref:{verp.message_ref}"
    if result.kind == "none" or not result.records:
        if verp is None or result.kind == "autoreply":
            return []
        return [Feedback(address=verp.recipient, kind="bounce", source=source, reason="undefined",
                         message_id=message_id, raw=raw,
                         diagnostic=result.error or "bounce not understood; recipient from VERP",
                         details={"verp": True, "parse_error": result.error})]
    complaint_type = result.complaint.feedback_type if result.complaint else None
    feedbacks = []
    for record in result.records:
        address = _recipient(record, result, verp)
        if address is None:
            continue
        kind = result.kind
        if kind in ("bounce", "delay", "delivered") and record.action:
            kind = ACTION_KINDS.get(record.action.lower(), kind)
        feedbacks.append(Feedback(
            address=address, kind=kind, source=source, reason=record.reason,
            hard_bounce=record.hard_bounce, status=record.status, reply_code=record.reply_code,
            diagnostic=record.diagnostic, remote_mta=record.remote_mta, message_id=message_id,
            feedback_type=record.feedback_type or complaint_type,
            occurred_at=_when(record), raw=raw,
            details={k: v for k, v in {"decoder": result.decoder, "reporting_mta": record.reporting_mta,
                                       "original_recipient": record.original_recipient,
                                       "verp": verp is not None}.items() if v},
        ))
    return feedbacks


def _recipient(record: DeliveryStatus, result: ParseResult, verp: VerpRef | None) -> str | None:
    """The affected address: the record's own, else (redacted complaints, bare bounces)
    the VERP token's or the complaint's original recipient."""
    candidates = [record.recipient]
    if verp is not None:
        candidates.append(verp.recipient)
    if result.complaint is not None:
        candidates.append(result.complaint.original_rcpt_to)
    for candidate in candidates:
        if not candidate or "*" in candidate:
            continue
        try:
            return normalize(candidate)
        except InvalidAddress:
            continue
    return None


def _when(record: DeliveryStatus) -> datetime | None:
    for text in (record.last_attempt_date, record.arrival_date):
        if not text:
            continue
        try:
            value = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            continue
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        # A clock that runs ahead must not put feedback in the future.
        return min(value, datetime.now(UTC).replace(tzinfo=None))
    return None
