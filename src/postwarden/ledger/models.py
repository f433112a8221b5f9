"""The schema. Alembic migrations under ``migrations/`` create it; the models here
are what the code queries with."""

from __future__ import annotations

from datetime import date, datetime
from typing import cast

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

GENESIS_HASH = "0" * 64


class Base(DeclarativeBase):
    pass


class Tenant(Base):
    __tablename__ = "tenants"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    # The audit chain's head: removing the newest entries is caught by comparing with it.
    audit_seq: Mapped[int] = mapped_column(Integer, default=0)
    audit_head: Mapped[str] = mapped_column(String(64), default=GENESIS_HASH)


class ApiKey(Base):
    __tablename__ = "api_keys"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)


class Evidence(Base):
    """Raw input kept as proof: a bounce message, a webhook payload, an import line."""

    __tablename__ = "evidence"
    __table_args__ = (UniqueConstraint("tenant_id", "sha256"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    sha256: Mapped[str] = mapped_column(String(64))
    content_type: Mapped[str] = mapped_column(String(100))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class FeedbackEvent(Base):
    __tablename__ = "feedback_events"
    __table_args__ = (
        UniqueConstraint("tenant_id", "fingerprint"),
        Index("ix_feedback_events_address", "tenant_id", "address", "occurred_at"),
        Index("ix_feedback_events_disposition", "tenant_id", "disposition", "occurred_at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    fingerprint: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(20))
    address: Mapped[str] = mapped_column(String(320))
    scope: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str | None] = mapped_column(String(40))
    reason_class: Mapped[str | None] = mapped_column(String(20))
    hard_bounce: Mapped[bool | None] = mapped_column(Boolean)
    status: Mapped[str | None] = mapped_column(String(20))
    reply_code: Mapped[str | None] = mapped_column(String(3))
    diagnostic: Mapped[str | None] = mapped_column(Text)
    remote_mta: Mapped[str | None] = mapped_column(String(255))
    message_id: Mapped[str | None] = mapped_column(String(998))
    feedback_type: Mapped[str | None] = mapped_column(String(40))
    source: Mapped[str] = mapped_column(String(200))
    disposition: Mapped[str] = mapped_column(String(20))
    details: Mapped[str | None] = mapped_column(Text)
    evidence_id: Mapped[int | None] = mapped_column(ForeignKey("evidence.id"))
    occurred_at: Mapped[datetime] = mapped_column(DateTime)
    received_at: Mapped[datetime] = mapped_column(DateTime)


class Suppression(Base):
    """One row per (address, scope, reason class): its current state. History is in
    the audit log. Several classes may hold the same address at once; each is lifted
    by its own rule."""

    __tablename__ = "suppressions"
    __table_args__ = (
        UniqueConstraint("tenant_id", "address", "scope", "reason_class"),
        Index("ix_suppressions_state_created", "tenant_id", "state", "created_at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(Integer)  # no foreign key: see migration 0009
    address: Mapped[str] = mapped_column(String(320))
    scope: Mapped[str] = mapped_column(String(100))
    reason_class: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str | None] = mapped_column(String(20))
    reply_code: Mapped[str | None] = mapped_column(String(3))
    diagnostic: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(200))
    event_id: Mapped[int | None] = mapped_column(ForeignKey("feedback_events.id"))
    state: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime)
    lifted_at: Mapped[datetime | None] = mapped_column(DateTime)
    times_suppressed: Mapped[int] = mapped_column(Integer, default=1)


class AuditEntry(Base):
    __tablename__ = "audit_log"
    __table_args__ = (
        UniqueConstraint("tenant_id", "seq"),
        Index("ix_audit_log_address", "tenant_id", "address"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(Integer)  # no foreign key: see migration 0009
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(DateTime)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(30))
    address: Mapped[str] = mapped_column(String(320))
    scope: Mapped[str] = mapped_column(String(100))
    reason_class: Mapped[str | None] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text)
    evidence: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64))


class InstanceSecret(Base):
    """Secrets shared by every process of one installation (the HMAC key of VERP and
    unsubscribe tokens), made at `postwarden init` unless given in settings."""

    __tablename__ = "instance_secrets"
    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))


class SpoolEntry(Base):
    """Raw input, committed before it is acknowledged, then processed by a worker.
    ``state``: pending -> processing -> done | unrecognised; ``rejected`` keeps a
    malformed webhook payload for inspection."""

    __tablename__ = "intake_spool"
    __table_args__ = (Index("ix_intake_spool_state", "state", "id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenants.id"))
    channel: Mapped[str] = mapped_column(String(40))
    envelope: Mapped[str] = mapped_column(Text)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    state: Mapped[str] = mapped_column(String(15))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # A worker's claim; once it passes, another worker may take the entry over.
    lease_until: Mapped[datetime | None] = mapped_column(DateTime)
    received_at: Mapped[datetime] = mapped_column(DateTime)
    processed_at: Mapped[datetime | None] = mapped_column(DateTime)
    result: Mapped[str | None] = mapped_column(Text)


# The tables, typed as tables, for Core queries.
TENANTS = cast(Table, Tenant.__table__)
API_KEYS = cast(Table, ApiKey.__table__)
EVIDENCE = cast(Table, Evidence.__table__)
EVENTS = cast(Table, FeedbackEvent.__table__)
SUPPRESSIONS = cast(Table, Suppression.__table__)
AUDIT = cast(Table, AuditEntry.__table__)
SECRETS = cast(Table, InstanceSecret.__table__)
SPOOL = cast(Table, SpoolEntry.__table__)


class WebhookSecret(Base):
    """The shared secret or verification key one tenant configured for one provider's
    webhooks: basic-auth credentials (``user:password``), an HMAC signing key, or a
    public key, as that provider's module expects."""

    __tablename__ = "webhook_secrets"
    __table_args__ = (UniqueConstraint("tenant_id", "provider"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    provider: Mapped[str] = mapped_column(String(40))
    value: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


WEBHOOK_SECRETS = cast(Table, WebhookSecret.__table__)


class Message(Base):
    """One message to one recipient, recorded when it was handed on (by the relay, or
    reported by a sender through the API); its status follows the feedback that names
    it: sent -> deferred | delivered -> bounced | unsubscribed | complained."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("tenant_id", "message_id", "recipient"),
        Index("ix_messages_ref", "tenant_id", "message_ref", "recipient"),
        Index("ix_messages_recipient", "tenant_id", "recipient", "sent_at"),
        Index("ix_messages_sent", "tenant_id", "sent_at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    message_id: Mapped[str] = mapped_column(String(998))
    # Feedback names a message by its Message-ID or by the digest a VERP token carries
    # (ledger.messages.message_ref); both lead here.
    message_ref: Mapped[str] = mapped_column(String(16))
    recipient: Mapped[str] = mapped_column(String(320))
    sender: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(Text)
    # 'transactional' or 'marketing'; marketing mail carries List-Unsubscribe.
    stream: Mapped[str] = mapped_column(String(20))
    scope: Mapped[str] = mapped_column(String(100))
    # Recipient domain's mailbox provider at send time, for per-provider reports.
    provider: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(15))
    # Reply code and diagnostic of the feedback that set the status.
    status_code: Mapped[str | None] = mapped_column(String(3))
    status_detail: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime] = mapped_column(DateTime)
    status_at: Mapped[datetime] = mapped_column(DateTime)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("feedback_events.id"))


MESSAGES = cast(Table, Message.__table__)


# Web operators


class Operator(Base):
    """A person who signs in to the web interface, in one tenant. Only an argon2 hash
    of the password is kept."""

    __tablename__ = "operators"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(DateTime)


class WebSession(Base):
    """A signed-in browser. The cookie carries a random token; only its SHA-256 is
    stored, so reading this table does not let anyone sign in. ``flash`` holds the
    one-line result of the last action, shown once on the page it redirected to."""

    __tablename__ = "web_sessions"
    __table_args__ = (Index("ix_web_sessions_expires", "expires_at"),)
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id"), index=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    flash: Mapped[str | None] = mapped_column(Text)


OPERATORS = cast(Table, Operator.__table__)
WEB_SESSIONS = cast(Table, WebSession.__table__)


# Reports


class DailyStats(Base):
    """Per tenant, day and mailbox provider: what was sent and what came back,
    added to as the rollup (``reports/rollup.py``) consumes new messages and events."""

    __tablename__ = "daily_stats"
    __table_args__ = (UniqueConstraint("tenant_id", "day", "provider"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    day: Mapped[date] = mapped_column(Date)
    provider: Mapped[str] = mapped_column(String(40))
    sent: Mapped[int] = mapped_column(Integer, default=0)
    delivered: Mapped[int] = mapped_column(Integer, default=0)
    deferred: Mapped[int] = mapped_column(Integer, default=0)
    hard_bounces: Mapped[int] = mapped_column(Integer, default=0)
    soft_bounces: Mapped[int] = mapped_column(Integer, default=0)
    # Bounces that blame the sender (blocked, badreputation, authfailure, ...).
    sender_failures: Mapped[int] = mapped_column(Integer, default=0)
    complaints: Mapped[int] = mapped_column(Integer, default=0)
    unsubscribes: Mapped[int] = mapped_column(Integer, default=0)


class RollupMark(Base):
    """How far the rollup has read one source table: every id up to ``last_id`` except
    ``gaps`` (ids not yet committed when it passed them, JSON id -> first seen).
    ``version`` moves on every advance, so two processes never both apply a range."""

    __tablename__ = "report_rollup"
    name: Mapped[str] = mapped_column(String(20), primary_key=True)
    last_id: Mapped[int] = mapped_column(Integer, default=0)
    gaps: Mapped[str] = mapped_column(Text, default="{}")
    version: Mapped[int] = mapped_column(Integer, default=0)


class ReportDomain(Base):
    """Recipient domain -> mailbox provider as recorded with sent messages (the relay
    may know it from MX), so feedback about the domain counts for the same provider."""

    __tablename__ = "report_domains"
    domain: Mapped[str] = mapped_column(String(255), primary_key=True)
    provider: Mapped[str] = mapped_column(String(40))


class RemediationStep(Base):
    """What an operator changed to fix deliverability, shown on the charts."""

    __tablename__ = "remediation_steps"
    __table_args__ = (Index("ix_remediation_steps_at", "tenant_id", "at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    at: Mapped[datetime] = mapped_column(DateTime)
    # The provider the step was for; None: all of them.
    provider: Mapped[str | None] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime)


class ReportAlert(Base):
    """A condition seen in the statistics or a blocklist: raised once per ``key``
    (kind, provider or subject, day), and sent to the alert webhook if one is set."""

    __tablename__ = "report_alerts"
    __table_args__ = (
        UniqueConstraint("tenant_id", "key"),
        Index("ix_report_alerts_raised", "tenant_id", "raised_at"),
        Index("ix_report_alerts_notify", "notify_state", "notify_next_at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    key: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(30))
    level: Mapped[str] = mapped_column(String(10))
    provider: Mapped[str | None] = mapped_column(String(40))
    subject: Mapped[str | None] = mapped_column(String(255))
    message: Mapped[str] = mapped_column(Text)
    value: Mapped[float | None] = mapped_column(Float)
    threshold: Mapped[float | None] = mapped_column(Float)
    raised_at: Mapped[datetime] = mapped_column(DateTime)
    # none (no webhook), pending, sent, failed
    notify_state: Mapped[str] = mapped_column(String(10))
    notify_attempts: Mapped[int] = mapped_column(Integer, default=0)
    notify_next_at: Mapped[datetime | None] = mapped_column(DateTime)
    notify_error: Mapped[str | None] = mapped_column(Text)


class DmarcReport(Base):
    """One DMARC aggregate report as received; its rows are in ``dmarc_records``."""

    __tablename__ = "dmarc_reports"
    __table_args__ = (
        UniqueConstraint("tenant_id", "org_name", "report_id"),
        Index("ix_dmarc_reports_domain", "tenant_id", "domain", "date_end"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    org_name: Mapped[str] = mapped_column(String(255))
    report_id: Mapped[str] = mapped_column(String(255))
    domain: Mapped[str] = mapped_column(String(255))
    date_begin: Mapped[datetime] = mapped_column(DateTime)
    date_end: Mapped[datetime] = mapped_column(DateTime)
    # The published policy the reporter applied, as JSON (p, sp, adkim, aspf, pct).
    policy: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(200))
    received_at: Mapped[datetime] = mapped_column(DateTime)


class DmarcRecord(Base):
    """One row of an aggregate report: mail from one source IP for one header-from
    domain, with its evaluated SPF and DKIM results and what the receiver did."""

    __tablename__ = "dmarc_records"
    __table_args__ = (Index("ix_dmarc_records_source", "tenant_id", "header_from", "source_ip"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    report_id: Mapped[int] = mapped_column(ForeignKey("dmarc_reports.id"), index=True)
    source_ip: Mapped[str] = mapped_column(String(45))
    header_from: Mapped[str] = mapped_column(String(255))
    count: Mapped[int] = mapped_column(Integer)
    disposition: Mapped[str] = mapped_column(String(20))
    dkim: Mapped[str] = mapped_column(String(10))  # DMARC-aligned DKIM verdict: pass / fail
    spf: Mapped[str] = mapped_column(String(10))
    # Raw auth_results, JSON: [{"domain", "result", "selector"}] per method.
    auth_results: Mapped[str] = mapped_column(Text)


DAILY_STATS = cast(Table, DailyStats.__table__)
ROLLUP_MARKS = cast(Table, RollupMark.__table__)
REPORT_DOMAINS = cast(Table, ReportDomain.__table__)
REMEDIATION = cast(Table, RemediationStep.__table__)
REPORT_ALERTS = cast(Table, ReportAlert.__table__)
DMARC_REPORTS = cast(Table, DmarcReport.__table__)
DMARC_RECORDS = cast(Table, DmarcRecord.__table__)


class WebhookNonce(Base):
    """A one-time token a provider signed (Mailgun's ``signature.token``), kept for the
    replay window with a digest of the body it came with: several processes share one
    database, so they agree on what was seen."""

    __tablename__ = "webhook_nonces"
    __table_args__ = (UniqueConstraint("tenant_id", "provider", "token"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    provider: Mapped[str] = mapped_column(String(40))
    token: Mapped[str] = mapped_column(String(200))
    body_sha256: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(DateTime, index=True)


WEBHOOK_NONCES = cast(Table, WebhookNonce.__table__)
