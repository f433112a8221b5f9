"""Postmark suppression dump: EmailAddress, SuppressionReason (HardBounce,
SpamComplaint, ManualSuppression), Origin (Recipient, Customer, Admin), CreatedAt,
and optionally the message stream, which becomes the scope."""

from __future__ import annotations

from collections.abc import Mapping

from postwarden.errors import InvalidInput
from postwarden.intake.exports import csv_format, parse_time
from postwarden.ledger.service import ImportRow


def _convert(line: int, values: Mapping[str, str]) -> ImportRow:
    reason = values["suppressionreason"]
    origin = values.get("origin", "")
    if reason == "HardBounce":
        cls = "hard_bounce"
    elif reason == "SpamComplaint":
        cls = "complaint"
    elif reason == "ManualSuppression":
        # A recipient's own manual suppression is their unsubscribe; anyone else's is ours.
        cls = "unsubscribe" if origin.lower() == "recipient" else "manual"
    else:
        raise InvalidInput(f"unknown Postmark SuppressionReason {reason!r}")
    stream = values.get("messagestream") or values.get("stream") or ""
    scope = "*" if cls in ("hard_bounce", "complaint") or stream in ("", "outbound") else stream
    return ImportRow(line, values["emailaddress"], cls, scope=scope,
                     created_at=parse_time(values.get("createdat")),
                     note=f"Postmark {reason} (origin {origin or 'unknown'})")


FORMAT = csv_format("postmark", "Postmark suppressions dump (CSV)",
                    ["emailaddress", "suppressionreason"], "Postmark", _convert)
