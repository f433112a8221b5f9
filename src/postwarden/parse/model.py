"""The records the parser returns. Frozen, plain data: easy to compare, hash and
serialise; the JSON shape here is the CLI and API contract."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

KINDS = ("bounce", "delay", "delivered", "complaint", "autoreply", "none")


@dataclass(frozen=True)
class DeliveryStatus:
    """What happened to one recipient."""

    recipient: str | None
    original_recipient: str | None = None
    action: str | None = None
    status: str | None = None
    reply_code: str | None = None
    reason: str | None = None
    hard_bounce: bool = False
    diagnostic: str | None = None
    remote_mta: str | None = None
    reporting_mta: str | None = None
    arrival_date: str | None = None
    last_attempt_date: str | None = None
    feedback_type: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class OriginalMessage:
    """The message that bounced (or was complained about), as far as it was returned."""

    message_id: str | None = None
    subject: str | None = None
    from_: str | None = None
    to: str | None = None
    envelope_sender: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "message_id": self.message_id,
            "subject": self.subject,
            "from": self.from_,
            "to": self.to,
            "envelope_sender": self.envelope_sender,
        }


@dataclass(frozen=True)
class ComplaintReport:
    """The machine-readable part of a complaint (RFC 5965 ARF or an older form)."""

    feedback_type: str | None = None
    user_agent: str | None = None
    source_ip: str | None = None
    reported_domain: str | None = None
    original_mail_from: str | None = None
    original_rcpt_to: str | None = None
    arrival_date: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ParseResult:
    """Everything the parser learned from one message. ``error`` is set (and the
    rest left empty) when the message could not be understood at all."""

    kind: str = "none"
    records: list[DeliveryStatus] = field(default_factory=list)
    original: OriginalMessage | None = None
    complaint: ComplaintReport | None = None
    error: str | None = None
    decoder: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "records": [r.to_json() for r in self.records],
            "original": self.original.to_json() if self.original else None,
            "complaint": self.complaint.to_json() if self.complaint else None,
            "decoder": self.decoder,
            "error": self.error,
        }
