"""postwarden's own CSV: a header with ``address`` and optional ``reason`` (a reason
class), ``scope`` and ``created_at``."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TextIO

from postwarden.intake.exports import (
    ExportFormat,
    Item,
    csv_records,
    header_columns,
    parse_time,
    require,
    rows_from,
)
from postwarden.ledger.service import ImportRow


def _convert(line: int, values: Mapping[str, str]) -> ImportRow:
    return ImportRow(
        line=line, address=values["address"], reason_class=values.get("reason") or "manual",
        scope=values.get("scope") or "*", created_at=parse_time(values.get("created_at")),
        note=values.get("note", ""),
    )


def read(stream: TextIO) -> Iterator[Item]:
    problem = require(header_columns(stream), ["address"], "postwarden CSV")
    if problem:
        yield problem
        return
    yield from rows_from(csv_records(stream), _convert)


FORMAT = ExportFormat("csv", "address[,reason,scope,created_at] with a header", read)
