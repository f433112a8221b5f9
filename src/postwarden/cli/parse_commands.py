"""``postwarden parse`` and ``postwarden classify``: the feedback parser on the
command line. Output shapes are a contract (benchmarks read them): keep stable."""

from __future__ import annotations

import json
import multiprocessing
import sys
from collections.abc import Iterable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from postwarden.classify import classify_reply
from postwarden.cli.app import app, fail
from postwarden.parse import parse_message

_CHUNK = 1 << 20


@app.command("classify")
def classify_command(
    text: Annotated[
        str, typer.Argument(help="An SMTP reply or log line, e.g. '550 5.1.1 User unknown'.")
    ],
) -> None:
    """Classify one SMTP reply or log line on its own; prints JSON."""
    verdict = classify_reply(text)
    typer.echo(json.dumps(asdict(verdict)))


@app.command("parse")
def parse_command(
    paths: Annotated[
        list[str],
        typer.Argument(help="An .eml file, a maildir or folder, an mbox file, or - for stdin."),
    ],
    jsonl: Annotated[bool, typer.Option("--jsonl", help="One JSON object per message on stdout.")] = False,
    jobs: Annotated[
        int, typer.Option("--jobs", min=1, help="Worker processes (output stays in input order).")
    ] = 1,
) -> None:
    """Parse bounces, complaints and auto-replies; report what happened to whom."""
    for path in paths:
        if path != "-" and not Path(path).exists():
            raise fail(f"cannot read {path}: no such file or folder")
    messages = _messages(paths)
    if jobs > 1:
        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            _emit(pool.imap(_parse_one, messages, chunksize=16), jsonl)
    else:
        _emit(map(_parse_one, messages), jsonl)


def _parse_one(item: tuple[str, bytes]) -> dict[str, Any]:
    source, raw = item
    result = parse_message(raw)
    return {
        "source": source,
        "kind": result.kind,
        "records": [r.to_json() for r in result.records],
        "original": result.original.to_json() if result.original else None,
        "complaint": result.complaint.to_json() if result.complaint else None,
        "error": result.error,
    }


def _emit(results: Iterable[dict[str, Any]], jsonl: bool) -> None:
    if jsonl:
        out = sys.stdout
        for item in results:
            out.write(json.dumps(item, ensure_ascii=False))
            out.write("\n")
        out.flush()
        return
    table = Table("source", "kind", "recipient", "status", "reason", "hard", "diagnostic")
    for item in results:
        records = item["records"] or [{}]
        for record in records:
            table.add_row(
                item["source"],
                item["kind"] if not item["error"] else f"error: {item['error']}",
                record.get("recipient") or "",
                record.get("status") or "",
                record.get("reason") or "",
                "yes" if record.get("hard_bounce") else "",
                (record.get("diagnostic") or "")[:80],
            )
    Console().print(table)


def _messages(paths: list[str]) -> Iterator[tuple[str, bytes]]:
    for path in paths:
        if path == "-":
            yield from _from_stream("-", sys.stdin.buffer)
            continue
        p = Path(path)
        if p.is_dir():
            for child in sorted(c for c in p.rglob("*") if c.is_file()):
                yield from _from_file(child)
        else:
            yield from _from_file(p)


def _from_file(path: Path) -> Iterator[tuple[str, bytes]]:
    try:
        with path.open("rb") as fh:
            head = fh.read(5)
            fh.seek(0)
            if head == b"From ":
                yield from _mbox(str(path), fh)
            else:
                yield str(path), fh.read()
    except OSError as exc:
        yield str(path), b""  # reported as an error result; the run goes on
        print(f"warning: cannot read {path}: {exc}", file=sys.stderr)


def _from_stream(name: str, stream: Any) -> Iterator[tuple[str, bytes]]:
    data = stream.read(5)
    if data == b"From ":
        yield from _mbox(name, _Prefixed(data, stream))
    else:
        yield name, data + stream.read()


class _Prefixed:
    """A stream with a few bytes already read put back in front."""

    def __init__(self, prefix: bytes, stream: Any) -> None:
        self._prefix = prefix
        self._stream = stream

    def __iter__(self) -> Iterator[bytes]:
        first = self._prefix + self._stream.readline()
        yield first
        yield from self._stream


def _mbox(name: str, lines: Iterable[bytes]) -> Iterator[tuple[str, bytes]]:
    """Stream an mbox: one message at a time, never the whole file in memory.
    ``>From `` quoting (mboxrd/mboxo) is undone."""
    current: list[bytes] = []
    count = 0
    started = False
    for line in lines:
        if line.startswith(b"From ") and (not current or current[-1].strip() == b""):
            if started:
                count += 1
                yield f"{name}#{count}", b"".join(current)
            current = []
            started = True
            continue
        if line.startswith(b">") and line.lstrip(b">").startswith(b"From "):
            line = line[1:]
        current.append(line)
    if started and current:
        count += 1
        yield f"{name}#{count}", b"".join(current)
