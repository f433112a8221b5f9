"""The one record shape every feedback source is turned into before it reaches the
ledger: a parsed bounce, an ARF complaint, a webhook event, an unsubscribe click."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

KINDS = ("bounce", "delay", "delivered", "complaint", "unsubscribe", "autoreply")


@dataclass(frozen=True)
class Feedback:
    address: str
    kind: str
    source: str
    reason: str | None = None
    hard_bounce: bool | None = None
    status: str | None = None
    reply_code: str | None = None
    diagnostic: str | None = None
    remote_mta: str | None = None
    message_id: str | None = None
    feedback_type: str | None = None
    scope: str = "*"
    occurred_at: datetime | None = None
    raw: bytes | None = None
    raw_content_type: str = "message/rfc822"
    details: dict[str, Any] = field(default_factory=dict)
    # Set by sources that carry their own stable id (a webhook event id, say).
    idempotency_key: str | None = None

    def fingerprint(self, address: str) -> str:
        """Stable identity of this piece of feedback for ``address``: the same input
        applied twice yields the same fingerprint, so the second changes nothing."""
        if self.idempotency_key is not None:
            basis: list[Any] = ["key", self.source, self.idempotency_key, address, self.kind]
        elif self.raw is not None:
            basis = ["raw", hashlib.sha256(self.raw).hexdigest(), address, self.kind, self.status]
        else:
            basis = [
                "fields", self.source, address, self.kind, self.scope, self.reason, self.status,
                self.reply_code, self.diagnostic, self.message_id, self.feedback_type,
                self.occurred_at.isoformat() if self.occurred_at else None,
            ]
        return hashlib.sha256(json.dumps(basis).encode()).hexdigest()
