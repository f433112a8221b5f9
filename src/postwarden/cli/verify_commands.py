"""Address verification on the command line: ``postwarden verify`` and ``postwarden
recheck``."""

from __future__ import annotations

import asyncio
import csv
import sys
from pathlib import Path
from typing import Annotated, TextIO

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from postwarden.cli.app import app, console, context, fail, handles_errors, operator_actor
from postwarden.ledger import Ledger
from postwarden.ledger.db import make_engine
from postwarden.verify.recheck import recheck as recheck_address
from postwarden.verify.service import Verifier

COLUMNS = ("address", "verdict", "reasons", "why", "suggestion", "mail_hosts")


def _read(addresses: list[str] | None, file: Path | None) -> list[str]:
    """Addresses from the arguments, then the file: one a line, or CSV with the
    address in the first column (a header naming it is skipped)."""
    found = list(addresses or [])
    if file is not None:
        stream: TextIO = sys.stdin if str(file) == "-" else file.open(encoding="utf-8-sig", newline="")
        with stream:
            for row in csv.reader(stream):
                value = row[0].strip() if row else ""
                if value and value.lower() not in ("address", "email"):
                    found.append(value)
    return found


@app.command()
@handles_errors
def verify(
    ctx: typer.Context,
    addresses: Annotated[list[str] | None, typer.Argument(help="Addresses to verify.")] = None,
    file: Annotated[Path | None, typer.Option("--file", help="One address a line (or CSV, first "
                                                             "column); '-' for stdin.")] = None,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="CSV file (default stdout).")] = None,
) -> None:
    """Verify addresses: syntax, the domain's mail servers in DNS, disposable domains,
    role accounts, typos. CSV out: address, verdict (deliverable / risky /
    undeliverable), reasons, why, suggestion, mail hosts. Nothing is sent to them."""
    wanted = _read(addresses, file)
    if not wanted:
        raise fail("give addresses or --file", code=2)
    verifier = Verifier(context(ctx).settings)
    with Progress(TextColumn("verifying"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True) as progress:
        task = progress.add_task("verify", total=len(wanted))
        results = verifier.verify_sync(wanted, progress=lambda n: progress.advance(task, n))
    stream: TextIO = output.open("w", encoding="utf-8", newline="") if output else sys.stdout
    try:
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(COLUMNS)
        for r in results:
            writer.writerow([r.address, r.verdict, " ".join(r.reasons), r.why, r.suggestion or "",
                             " ".join(r.mail_hosts)])
    finally:
        if output:
            stream.close()
    counts = {v: sum(r.verdict == v for r in results) for v in ("deliverable", "risky", "undeliverable")}
    console.print("  ".join(f"{v}: {n}" for v, n in counts.items()) +
                  f"  ({verifier.domains.lookups} DNS lookups)", highlight=False)


@app.command()
@handles_errors
def recheck(
    ctx: typer.Context,
    address: str,
    note: Annotated[str, typer.Option(help="Why you ask (the address was corrected, ...), for the "
                                           "audit log.")] = "",
) -> None:
    """Check again: verify a suppressed address afresh and lift its invalid or
    hard_bounce suppression if it passes. Exit 1 if it stays suppressed."""
    obj = context(ctx)
    ledger = Ledger(make_engine(obj.settings.database_url), obj.tenant, obj.settings)
    found = asyncio.run(recheck_address(ledger, Verifier(obj.settings), address, actor=operator_actor(),
                                        note=note))
    v = found.verification
    console.print(f"{found.address}: {v.verdict}" + (f" — {v.why}" if v.why else ""), highlight=False)
    if v.suggestion:
        console.print(f"  did you mean {v.suggestion}?", highlight=False)
    for o in found.lifted:
        console.print(f"  lifted {o.reason_class} on {o.scope!r}", highlight=False)
    for o in found.kept:
        console.print(f"  still suppressed: {o.reason_class} on {o.scope!r} — {o.why}", highlight=False)
    if not found.passed or found.kept:
        raise typer.Exit(1)
