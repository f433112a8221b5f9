"""Readers for other platforms' suppression exports.

Each module in this package defines ``FORMAT``, an :class:`ExportFormat` whose
``read`` turns the file's text into :class:`~postwarden.ledger.service.ImportRow`
values or :class:`Problem` values (line number and what is wrong). Modules are found
by scanning the package: adding a platform is one module and one fixture."""

from __future__ import annotations

import csv
import importlib
import pkgutil
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TextIO

from postwarden.errors import ImportFileInvalid, InvalidInput
from postwarden.ledger.service import ImportRow


@dataclass(frozen=True)
class Problem:
    line: int
    problem: str


Item = ImportRow | Problem


@dataclass(frozen=True)
class ExportFormat:
    name: str
    description: str
    read: Callable[[TextIO], Iterator[Item]]


def formats() -> dict[str, ExportFormat]:
    found: dict[str, ExportFormat] = {}
    for module in pkgutil.iter_modules(__path__):
        fmt = getattr(importlib.import_module(f"{__name__}.{module.name}"), "FORMAT", None)
        if not isinstance(fmt, ExportFormat):
            continue
        if fmt.name in found:
            raise RuntimeError(f"two export formats are named {fmt.name!r}")
        found[fmt.name] = fmt
    return found


def get(name: str) -> ExportFormat:
    known = formats()
    if name not in known:
        raise InvalidInput(f"unknown import format {name!r}: one of {', '.join(sorted(known))}")
    return known[name]


def iter_rows(name: str, stream: TextIO) -> Iterator[ImportRow]:
    """The rows of a file in format ``name``, as they are read; after the last, an
    :class:`ImportFileInvalid` naming every line that could not be read, if any (the
    ledger then applies nothing: a file is imported whole or not at all). An unknown
    format is refused at once."""
    return _rows(get(name).read(stream))


def _rows(items: Iterator[Item]) -> Iterator[ImportRow]:
    problems: list[tuple[int, str]] = []
    for item in items:
        if isinstance(item, Problem):
            problems.append((item.line, item.problem))
        else:
            yield item
    if problems:
        raise ImportFileInvalid(f"{len(problems)} bad line(s), nothing imported: fix them and import the "
                                "file again", problems)


# ---- helpers the format modules share --------------------------------------------------

def csv_records(stream: TextIO) -> Iterator[tuple[int, Mapping[str, str]] | Problem]:
    """Rows of a CSV file with a header, keyed by lower-cased column name, with the
    line number each row starts on."""
    reader = csv.reader(stream)
    try:
        header = next(reader)
    except StopIteration:
        yield Problem(1, "the file is empty: expected a header line")
        return
    except csv.Error as exc:
        yield Problem(1, f"unreadable header: {exc}")
        return
    columns = [c.strip().lstrip("\ufeff").lower() for c in header]
    line = reader.line_num
    while True:
        start = line + 1
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield Problem(start, f"malformed CSV: {exc}")
            return
        line = reader.line_num
        stripped = [v.strip() for v in values]
        if not any(stripped):
            continue
        if len(values) != len(columns):
            yield Problem(start, f"expected {len(columns)} fields as in the header, found {len(values)}")
            continue
        yield start, dict(zip(columns, stripped, strict=True))


def header_columns(stream: TextIO) -> list[str]:
    """Peek at a CSV header (the stream is rewound)."""
    position = stream.tell()
    first = stream.readline()
    stream.seek(position)
    return [c.strip().lstrip("\ufeff").lower() for c in next(csv.reader([first]), [])]


def parse_time(text: str | None) -> datetime | None:
    """ISO 8601 (with or without zone), 'YYYY-MM-DD HH:MM:SS', or Unix seconds; naive UTC."""
    if text is None or not (text := text.strip()):
        return None
    if text.isdigit():
        return datetime.fromtimestamp(int(text), UTC).replace(tzinfo=None)
    if text[-1] in "Zz":  # UTC, the commonest: read as naive at once, a third of the time
        try:
            value = datetime.fromisoformat(text[:-1])
        except ValueError:
            pass
        else:
            if value.tzinfo is None:
                return value
    try:
        value = datetime.fromisoformat(text)  # with a trailing Z too, since Python 3.11
    except ValueError:
        for pattern in ("%a, %d %b %Y %H:%M:%S %Z", "%m/%d/%Y %H:%M", "%m/%d/%Y"):
            try:
                value = datetime.strptime(text, pattern)
                break
            except ValueError:
                continue
        else:
            raise InvalidInput(f"cannot read the date {text!r}: use ISO 8601 such as 2026-01-31T12:00:00Z")
    offset = value.utcoffset()
    return value if offset is None else value.replace(tzinfo=None) - offset


def rows_from(
    records: Iterable[tuple[int, Mapping[str, str]] | Problem],
    convert: Callable[[int, Mapping[str, str]], ImportRow | None],
) -> Iterator[Item]:
    """Run ``convert`` over CSV records, turning its InvalidInput into a Problem."""
    for record in records:
        if isinstance(record, Problem):
            yield record
            continue
        line, values = record
        try:
            row = convert(line, values)
        except InvalidInput as exc:
            yield Problem(line, exc.message)
            continue
        if row is not None:
            yield row


def require(columns: Iterable[str], needed: Iterable[str], fmt: str) -> Problem | None:
    missing = [c for c in needed if c not in set(columns)]
    if missing:
        return Problem(1, f"not a {fmt} export: the header lacks {', '.join(missing)}")
    return None


def csv_format(name: str, description: str, required: list[str], label: str,
               convert: Callable[[int, Mapping[str, str]], ImportRow | None]) -> ExportFormat:
    """A format that is a CSV file with a header naming at least ``required``."""

    def read(stream: TextIO) -> Iterator[Item]:
        problem = require(header_columns(stream), required, label)
        if problem:
            yield problem
            return
        yield from rows_from(csv_records(stream), convert)

    return ExportFormat(name, description, read)
