"""Mailgun suppression exports: bounces (address, code, error, created_at), complaints
(address, created_at) and unsubscribes (address, tags, created_at; a tag ``*`` means
all mail, any other tag is a topic)."""

from __future__ import annotations

from collections.abc import Mapping

from postwarden.intake.exports import csv_format, parse_time
from postwarden.ledger.service import ImportRow


def _convert(line: int, values: Mapping[str, str]) -> ImportRow:
    created = parse_time(values.get("created_at"))
    address = values["address"]
    if "code" in values or "error" in values:
        code = values.get("code", "")
        cls = "soft_bounce" if code.startswith("4") else "hard_bounce"
        return ImportRow(line, address, cls, created_at=created,
                         note=f"Mailgun bounce {code}: {values.get('error', '')}"[:500])
    if "tags" in values:
        tag = (values["tags"].strip("[]\"' ").split(",")[0].strip("\"' ") or "*")
        return ImportRow(line, address, "unsubscribe", scope=tag, created_at=created,
                         note="Mailgun unsubscribe")
    return ImportRow(line, address, "complaint", created_at=created, note="Mailgun complaint")


FORMAT = csv_format(
    "mailgun", "Mailgun bounces, complaints or unsubscribes (CSV)", ["address"], "Mailgun", _convert
)
