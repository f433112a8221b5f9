"""Amazon SES account-level suppression list: the JSON of
``aws sesv2 list-suppressed-destinations`` or a CSV with the same fields
(EmailAddress, Reason = BOUNCE | COMPLAINT, LastUpdateTime)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any, TextIO

from postwarden.errors import InvalidInput
from postwarden.intake.exports import (
    ExportFormat,
    Item,
    Problem,
    csv_records,
    header_columns,
    parse_time,
    require,
    rows_from,
)
from postwarden.ledger.service import ImportRow

# SES adds an address after a hard bounce or a complaint; soft bounces never reach the list.
REASONS = {"BOUNCE": "hard_bounce", "COMPLAINT": "complaint"}


def _convert(line: int, values: Mapping[str, Any]) -> ImportRow:
    reason = str(values.get("reason") or "").upper()
    if reason not in REASONS:
        raise InvalidInput(f"unknown SES reason {reason!r}: expected BOUNCE or COMPLAINT")
    return ImportRow(line=line, address=str(values.get("emailaddress") or ""),
                     reason_class=REASONS[reason], reason=reason.lower(),
                     created_at=parse_time(str(values.get("lastupdatetime") or "")))


def _read_json(stream: TextIO) -> Iterator[Item]:
    try:
        document = json.load(stream)
    except json.JSONDecodeError as exc:
        yield Problem(exc.lineno, f"not valid JSON: {exc.msg}")
        return
    entries = document.get("SuppressedDestinationSummaries") if isinstance(document, dict) else document
    if not isinstance(entries, list):
        yield Problem(1, "expected SuppressedDestinationSummaries: a list of suppressed destinations")
        return
    # JSON has no useful line numbers once loaded: report the entry's position instead.
    for position, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict):
            yield Problem(position, "entry is not an object")
            continue
        yield from rows_from([(position, {k.lower(): v for k, v in entry.items()})], _convert)


def read(stream: TextIO) -> Iterator[Item]:
    position = stream.tell()
    first = stream.read(1)
    while first.isspace():
        first = stream.read(1)
    stream.seek(position)
    if first in "{[":
        yield from _read_json(stream)
        return
    problem = require(header_columns(stream), ["emailaddress", "reason"], "SES")
    if problem:
        yield problem
        return
    yield from rows_from(csv_records(stream), _convert)


FORMAT = ExportFormat("ses", "Amazon SES suppressed destinations (JSON or CSV)", read)
