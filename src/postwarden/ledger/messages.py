"""The message history: each message handed on, per recipient, and the status the
feedback about it has reached. Pure rules here; the statements run inside the
ledger's transactions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, select, update

from postwarden.ledger import bulk
from postwarden.ledger.models import MESSAGES
from postwarden.tokens import message_ref

STREAMS = ("transactional", "marketing")

# What each kind of feedback makes of the message it names.
STATUS_OF_KIND = {
    "delay": "deferred",
    "delivered": "delivered",
    "bounce": "bounced",
    "unsubscribe": "unsubscribed",
    "complaint": "complained",
}
# A status only moves forward: a late delay notice does not undo a bounce, a delivery
# report does not hide the complaint that followed it.
RANK = {"sent": 0, "deferred": 1, "delivered": 2, "bounced": 3, "unsubscribed": 4, "complained": 5}
STATUSES = tuple(RANK)


def ref_of_feedback(message_id: str | None) -> str:
    """Feedback names a message by its Message-ID, or as ``ref:<hex>`` when all it had
    was a VERP token's digest."""
    if message_id and message_id.startswith("ref:"):
        return message_id[4:]
    return message_ref(message_id)


@dataclass(frozen=True)
class SentMessage:
    message_id: str
    recipient: str
    sender: str
    subject: str
    stream: str = "transactional"
    scope: str = "*"
    provider: str | None = None
    sent_at: datetime | None = None


def record_sent(conn: Connection, tenant_id: int, messages: Sequence[SentMessage], now: datetime) -> int:
    """Insert messages with status ``sent``; one already recorded stays as it is."""
    rows = [{
        "tenant_id": tenant_id, "message_id": m.message_id.strip().strip("<>"),
        "message_ref": message_ref(m.message_id), "recipient": m.recipient, "sender": m.sender,
        "subject": m.subject, "stream": m.stream, "scope": m.scope, "provider": m.provider,
        "status": "sent", "status_code": None, "status_detail": None,
        "sent_at": m.sent_at or now, "status_at": m.sent_at or now, "event_id": None,
    } for m in messages]
    ids = bulk.insert_ignoring_many(conn, MESSAGES, ("tenant_id", "message_id", "recipient"), rows)
    return sum(1 for i in ids if i is not None)


@dataclass(frozen=True)
class StatusChange:
    recipient: str
    kind: str
    message_id: str | None
    reply_code: str | None
    detail: str | None
    at: datetime
    event_id: int


def follow(conn: Connection, tenant_id: int, changes: Sequence[StatusChange]) -> None:
    """Move each named message's status forward. Feedback without a message id is
    about the latest message to that recipient."""
    for change in changes:
        status = STATUS_OF_KIND.get(change.kind)
        if status is None:
            continue
        ref = ref_of_feedback(change.message_id)
        target: Any
        if ref:
            target = and_(MESSAGES.c.message_ref == ref, MESSAGES.c.recipient == change.recipient)
        else:
            latest = (select(MESSAGES.c.id)
                      .where(MESSAGES.c.tenant_id == tenant_id, MESSAGES.c.recipient == change.recipient)
                      .order_by(MESSAGES.c.sent_at.desc(), MESSAGES.c.id.desc()).limit(1)
                      .scalar_subquery())
            target = MESSAGES.c.id == latest
        below = [s for s, rank in RANK.items() if rank <= RANK[status]]
        conn.execute(update(MESSAGES).where(
            MESSAGES.c.tenant_id == tenant_id, target, MESSAGES.c.status.in_(below),
        ).values(status=status, status_code=change.reply_code, status_detail=change.detail,
                 status_at=change.at, event_id=change.event_id))
