"""SendGrid suppression exports. SendGrid exports each list on its own, and the list
shows in the columns: bounces carry ``status``, spam reports ``ip``, invalid emails a
``reason`` alone, unsubscribes only ``email`` and ``created``. Blocks (``reason`` with
a sender-side text) are deliberately not imported: a block says the sender was refused,
not that the address is bad."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TextIO

from postwarden.intake.exports import (
    ExportFormat,
    Item,
    Problem,
    csv_records,
    header_columns,
    parse_time,
    rows_from,
)
from postwarden.ledger.service import ImportRow

_BLOCK_HINTS = ("block", "reputation", "spamhaus", "blacklist", "blocklist", "policy", "5.7.")


def _convert(line: int, values: Mapping[str, str]) -> ImportRow | None:
    created = parse_time(values.get("created") or values.get("created_at"))
    address = values["email"]
    if "status" in values:
        status = values["status"]
        cls = "soft_bounce" if status.startswith("4") else "hard_bounce"
        return ImportRow(line, address, cls, created_at=created, reason=None,
                         note=f"SendGrid bounce {status}: {values.get('reason', '')}"[:500])
    if "ip" in values:
        return ImportRow(line, address, "complaint", created_at=created, note="SendGrid spam report")
    if "reason" in values:
        reason = values["reason"]
        if any(hint in reason.lower() for hint in _BLOCK_HINTS):
            return None
        return ImportRow(line, address, "invalid", created_at=created,
                         note=f"SendGrid invalid email: {reason}"[:500])
    return ImportRow(line, address, "unsubscribe", created_at=created, note="SendGrid unsubscribe")


def read(stream: TextIO) -> Iterator[Item]:
    if "email" not in header_columns(stream):
        yield Problem(1, "not a SendGrid export: the header lacks email")
        return
    yield from rows_from(csv_records(stream), _convert)


FORMAT = ExportFormat(
    "sendgrid", "SendGrid bounces, spam reports, invalid emails or unsubscribes (CSV)", read
)
