"""The message history: each message handed on, per recipient, and the status the
feedback about it has reached. Pure rules here; the statements run inside the
ledger's transactions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, case, select, update

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


# A message's status as its rank, in SQL, so one statement serves every new status.
_RANK_SQL = case(RANK, value=MESSAGES.c.status, else_=len(RANK))

_SET: dict[str, Any] = {"status": bindparam("new_status"), "status_code": bindparam("code"),
                        "status_detail": bindparam("detail"), "status_at": bindparam("at"),
                        "event_id": bindparam("event_id")}
# The message a piece of feedback names ...
_BY_REF = update(MESSAGES).where(
    MESSAGES.c.tenant_id == bindparam("tenant"), MESSAGES.c.message_ref == bindparam("ref"),
    MESSAGES.c.recipient == bindparam("to"), bindparam("rank") >= _RANK_SQL,
).values(**_SET)
# ... or, when it names none, the latest message to its recipient.
_LATEST = update(MESSAGES).where(
    MESSAGES.c.id == select(MESSAGES.c.id).where(
        MESSAGES.c.tenant_id == bindparam("tenant"), MESSAGES.c.recipient == bindparam("to"),
    ).order_by(MESSAGES.c.sent_at.desc(), MESSAGES.c.id.desc()).limit(1).scalar_subquery(),
    bindparam("rank") >= _RANK_SQL,
).values(**_SET)


def follow(conn: Connection, tenant_id: int, changes: Sequence[StatusChange]) -> None:
    """Move each named message's status forward, in two statements for the whole batch
    (one per kind of target) rather than one per piece of feedback."""
    by_ref: list[dict[str, Any]] = []
    latest: list[dict[str, Any]] = []
    relevant = [c for c in changes if c.kind in STATUS_OF_KIND]
    if not relevant:
        return
    # Most feedback is about mail sent elsewhere: one query finds which recipients have
    # any history here, and only theirs get a statement.
    known = set(conn.execute(select(MESSAGES.c.recipient.distinct()).where(
        MESSAGES.c.tenant_id == tenant_id,
        MESSAGES.c.recipient.in_({c.recipient for c in relevant}))).scalars())
    for change in relevant:
        if change.recipient not in known:
            continue
        status = STATUS_OF_KIND[change.kind]
        ref = ref_of_feedback(change.message_id)
        params = {"tenant": tenant_id, "to": change.recipient, "rank": RANK[status],
                  "new_status": status, "code": change.reply_code, "detail": change.detail, "at": change.at,
                  "event_id": change.event_id}
        if ref:
            by_ref.append({**params, "ref": ref})
        else:
            latest.append(params)
    # In input order within each statement: a later change to one message wins ties.
    if by_ref:
        conn.execute(_BY_REF, by_ref)
    if latest:
        conn.execute(_LATEST, latest)
