"""Mailchimp audience exports: the unsubscribed file (UNSUB_TIME, UNSUB_REASON) and
the cleaned file (CLEAN_TIME: addresses Mailchimp removed after hard bounces). An
unsubscribe whose reason is abuse is a spam complaint."""

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


def _convert(line: int, values: Mapping[str, str]) -> ImportRow:
    address = values["email address"]
    if "clean_time" in values:
        return ImportRow(line, address, "hard_bounce", created_at=parse_time(values["clean_time"]),
                         note=f"Mailchimp cleaned ({values.get('clean_campaign_title', '')})"[:500])
    reason = values.get("unsub_reason", "")
    complaint = any(word in reason.lower() for word in ("abuse", "spam"))
    return ImportRow(line, address, "complaint" if complaint else "unsubscribe",
                     created_at=parse_time(values.get("unsub_time")),
                     note=f"Mailchimp unsubscribe: {reason or 'no reason given'}"[:500])


def read(stream: TextIO) -> Iterator[Item]:
    columns = header_columns(stream)
    if "email address" not in columns or not ({"clean_time", "unsub_time"} & set(columns)):
        yield Problem(1, "not a Mailchimp unsubscribed or cleaned export: expected 'Email Address' "
                         "and UNSUB_TIME or CLEAN_TIME columns")
        return
    yield from rows_from(csv_records(stream), _convert)


FORMAT = ExportFormat("mailchimp", "Mailchimp unsubscribed or cleaned audience export (CSV)", read)
