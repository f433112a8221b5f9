"""postwarden's own CSV: a header with ``address`` and optional ``reason`` (a reason
class), ``scope`` and ``created_at``."""

from __future__ import annotations

from collections.abc import Mapping

from postwarden.intake.exports import csv_format, parse_time
from postwarden.ledger.service import ImportRow


def _convert(line: int, values: Mapping[str, str]) -> ImportRow:
    return ImportRow(
        line=line, address=values["address"], reason_class=values.get("reason") or "manual",
        scope=values.get("scope") or "*", created_at=parse_time(values.get("created_at")),
        note=values.get("note", ""),
    )


FORMAT = csv_format(
    "csv", "address[,reason,scope,created_at] with a header", ["address"], "postwarden CSV", _convert
)
