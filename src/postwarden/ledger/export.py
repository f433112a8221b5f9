"""The export record of a suppression and its CSV / JSON-lines renderings, shared by
the CLI and the HTTP API."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

FIELDS = ("address", "scope", "reason_class", "reason", "status", "reply_code", "source",
          "created_at", "expires_at", "lifted_at", "state", "times_suppressed", "diagnostic")
FORMATS = ("csv", "jsonl")


def iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") + "Z" if value else None


def naive_utc(value: datetime | None) -> datetime | None:
    """The ledger stores naive UTC; convert an aware time to it."""
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(UTC).replace(tzinfo=None)


def record(row: Any) -> dict[str, Any]:
    values = {name: getattr(row, name) for name in FIELDS}
    for name in ("created_at", "expires_at", "lifted_at"):
        values[name] = iso(values[name])
    return values


def render(rows: Iterable[Any], format: str, chunk_rows: int = 1000) -> Iterator[str]:
    """The export as text chunks (for streaming)."""
    if format == "jsonl":
        for row in rows:
            yield json.dumps(record(row)) + "\n"
        return
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=FIELDS, lineterminator="\n")
    writer.writeheader()
    for n, row in enumerate(rows, start=1):
        writer.writerow(record(row))
        if n % chunk_rows == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
