"""The mailbox side's tables, on the ledger's declarative base (migration 0007).

Kept here rather than in ``ledger/models.py`` because nothing on the sending side
reads them: the mailbox stands apart from the ledger's flow."""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import DateTime, ForeignKey, Integer, LargeBinary, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from postwarden.ledger.models import Base


class FilterState(Base):
    """A learned model's saved state (``LearnedModel.to_bytes``), one row per tenant and
    model name. ``revision`` grows with every save, so a process holding the model in
    memory can tell cheaply whether another process has trained it since."""

    __tablename__ = "mailbox_filter_state"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    name: Mapped[str] = mapped_column(String(100))
    revision: Mapped[int] = mapped_column(Integer)
    state: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class MailboxRule(Base):
    """A user's rule about senders: ``block`` (to the spam folder, or refused when
    ``action`` is ``reject``), ``trust`` (to the inbox) or ``correspondent`` (someone
    the user wrote to: trusted like an allow-list entry). ``match`` is ``address``,
    ``domain`` or ``ip``."""

    __tablename__ = "mailbox_rules"
    __table_args__ = (UniqueConstraint("tenant_id", "mailbox", "kind", "match", "value"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    mailbox: Mapped[str] = mapped_column(String(320))
    kind: Mapped[str] = mapped_column(String(20))
    match: Mapped[str] = mapped_column(String(10))
    value: Mapped[str] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(DateTime)


class MailboxUser(Base):
    """Per-mailbox choices: whether reported messages may be shared with senders and the
    spam partner (``accepted``; ``declined`` or unset means ask at the next click)."""

    __tablename__ = "mailbox_users"
    __table_args__ = (UniqueConstraint("tenant_id", "mailbox"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    mailbox: Mapped[str] = mapped_column(String(320))
    share_consent: Mapped[str | None] = mapped_column(String(10))
    consent_at: Mapped[datetime | None] = mapped_column(DateTime)


class FeedbackAddress(Base):
    """Where a sending domain wants complaint reports (its feedback-loop enrolment)."""

    __tablename__ = "mailbox_feedback_addresses"
    __table_args__ = (UniqueConstraint("tenant_id", "domain"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    domain: Mapped[str] = mapped_column(String(255))
    address: Mapped[str] = mapped_column(String(320))


class SentReport(Base):
    """Append-only log of the complaint reports sent, with the outcome of sending."""

    __tablename__ = "mailbox_sent_reports"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    mailbox: Mapped[str] = mapped_column(String(320))
    reported_domain: Mapped[str] = mapped_column(String(255))
    feedback_address: Mapped[str] = mapped_column(String(320))
    message_id: Mapped[str | None] = mapped_column(String(998))
    outcome: Mapped[str] = mapped_column(String(10))
    detail: Mapped[str] = mapped_column(Text)
    sent_at: Mapped[datetime] = mapped_column(DateTime)


FILTER_STATE = cast(Table, FilterState.__table__)
RULES = cast(Table, MailboxRule.__table__)
USERS = cast(Table, MailboxUser.__table__)
FEEDBACK_ADDRESSES = cast(Table, FeedbackAddress.__table__)
SENT_REPORTS = cast(Table, SentReport.__table__)
