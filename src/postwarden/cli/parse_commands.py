"""``postwarden parse`` and ``postwarden classify``: the feedback parser on the
command line. Output shapes are a contract (benchmarks read them): keep stable."""

from __future__ import annotations

import json
import multiprocessing
import sys
from collections.abc import Iterable
from dataclasses import asdict
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from postwarden.classify import classify_reply
from postwarden.cli.app import app, fail
from postwarden.intake.mailfiles import MailFileError, check_paths, iter_messages
from postwarden.parse import parse_message


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
    try:
        check_paths(paths)
    except MailFileError as exc:
        raise fail(exc.message) from exc
    messages = iter_messages(paths, on_error=_warn)
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


def _warn(error: MailFileError) -> None:
    print(f"warning: {error.message}", file=sys.stderr)
