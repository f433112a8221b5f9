"""Ledger commands: init, serve, suppress, lift, resubscribe, check, list, export,
import suppressions, audit, tenants and keys."""

from __future__ import annotations

import asyncio
import csv
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Annotated, TextIO

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import Engine

from postwarden.cli.app import (
    app,
    audit_app,
    console,
    context,
    fail,
    handles_errors,
    import_app,
    key_app,
    operator_actor,
    stdout,
    tenant_app,
)
from postwarden.cli.report_commands import print_report_alerts
from postwarden.errors import InvalidInput
from postwarden.intake import exports
from postwarden.ledger import Consent, Ledger
from postwarden.ledger import export as export_mod
from postwarden.ledger.db import make_engine, migrate
from postwarden.ledger.service import ImportRow, SuppressionFilter
from postwarden.ledger.tenants import create_api_key, create_tenant, tenant_names
from postwarden.reports.service import Reports
from postwarden.verify.screening import screen_imported
from postwarden.verify.service import Verifier

out = typer.echo


def _engine(ctx: typer.Context) -> Engine:
    return make_engine(context(ctx).settings.database_url)


def _ledger(ctx: typer.Context) -> Ledger:
    obj = context(ctx)
    return Ledger(make_engine(obj.settings.database_url), obj.tenant, obj.settings)


def _iso(value: datetime | None) -> str:
    return export_mod.iso(value) or ""


def _date(text: str | None, option: str) -> datetime | None:
    if not text:
        return None
    try:
        return exports.parse_time(text)
    except InvalidInput as exc:
        raise InvalidInput(f"{option}: {exc.message}") from None


ReasonOpt = Annotated[list[str] | None, typer.Option("--reason", help="Reason class; repeat for several.")]
ScopeOpt = Annotated[str | None, typer.Option("--scope", help="Scope (topic), or '*' for all mail.")]
SinceOpt = Annotated[str | None, typer.Option("--since", help="Created at or after (ISO 8601).")]
UntilOpt = Annotated[str | None, typer.Option("--until", help="Created before (ISO 8601).")]
MatchOpt = Annotated[str | None, typer.Option("--match", help="Address pattern, * and ? as wildcards.")]


def _filter(reason: list[str] | None, scope: str | None, since: str | None, until: str | None,
            match: str | None) -> SuppressionFilter:
    return SuppressionFilter(reason_classes=reason or None, scope=scope, since=_date(since, "--since"),
                             until=_date(until, "--until"), match=match)


@app.command()
@handles_errors
def init(ctx: typer.Context) -> None:
    """Create or migrate the database."""
    engine = _engine(ctx)
    migrate(engine)
    console.print(f"database ready at {engine.url.render_as_string(hide_password=True)}")


@app.command()
@handles_errors
def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="HTTP listen address.")] = None,
    port: Annotated[int | None, typer.Option(help="HTTP port.")] = None,
    smtp_port: Annotated[int | None, typer.Option(help="SMTP intake port (0: off).")] = None,
) -> None:
    """Run the HTTP API (OpenAPI at /docs), the SMTP feedback intake and a worker."""
    from postwarden.serve import run

    run(context(ctx).settings.with_overrides(http_host=host, http_port=port, smtp_port=smtp_port))


@app.command()
@handles_errors
def suppress(
    ctx: typer.Context,
    address: str,
    reason: Annotated[str, typer.Option(help="Reason class: complaint, hard_bounce, soft_bounce, "
                                             "unsubscribe, invalid or manual.")],
    scope: Annotated[str, typer.Option(help="Topic, or '*' for all mail.")] = "*",
    note: Annotated[str, typer.Option(help="Why, for the audit log.")] = "",
) -> None:
    """Suppress an address."""
    outcome = _ledger(ctx).suppress(address, reason, scope=scope, note=note, actor=operator_actor())
    console.print(f"{outcome.address}: {outcome.action} ({outcome.reason_class} on {outcome.scope!r})")


@app.command()
@handles_errors
def lift(
    ctx: typer.Context,
    address: str,
    note: Annotated[str, typer.Option(help="Why, for the audit log.")],
    scope: ScopeOpt = None,
    consent_by: Annotated[str | None, typer.Option(help="Who confirmed with the recipient.")] = None,
    consent_method: Annotated[str | None, typer.Option(help="email, phone, form or ticket.")] = None,
    evidence: Annotated[str | None, typer.Option(help="The recipient's confirmation, in words.")] = None,
    ticket: Annotated[str | None, typer.Option(help="Help-desk ticket id.")] = None,
) -> None:
    """Lift a suppression, if the policy allows it (exit 1 with the reason when it does not)."""
    consent = None
    if consent_by or consent_method or evidence or ticket:
        consent = Consent(consent_by or "", consent_method or "", evidence or "", ticket)
    outcomes = _ledger(ctx).lift(address, note=note, actor=operator_actor(), scope=scope,
                                 consent=consent)
    for outcome in outcomes:
        console.print(f"{outcome.address}: lifted {outcome.reason_class} on {outcome.scope!r}")


@app.command()
@handles_errors
def resubscribe(
    ctx: typer.Context,
    address: str,
    evidence: Annotated[str, typer.Option(help="The recipient's request (form id, email text...).")],
    scope: Annotated[str, typer.Option(help="The topic re-subscribed to, or '*'.")] = "*",
) -> None:
    """Record the recipient's own re-subscription, which lifts their unsubscribe."""
    _ledger(ctx).resubscribe(address, scope=scope, evidence=evidence, actor=operator_actor())
    console.print(f"{address}: re-subscribed to {scope!r}")


def _addresses(addresses: list[str] | None, file: Path | None) -> Iterator[str]:
    yield from addresses or []
    if file is not None:
        stream: TextIO = sys.stdin if str(file) == "-" else file.open(encoding="utf-8")
        with stream:
            for line in stream:
                value = line.strip().split(",")[0].strip()
                if value and value.lower() not in ("address", "email"):
                    yield value


@app.command()
@handles_errors
def check(
    ctx: typer.Context,
    addresses: Annotated[list[str] | None, typer.Argument(help="Addresses to check.")] = None,
    file: Annotated[Path | None, typer.Option("--file", help="One address a line (or CSV, first "
                                                             "column); '-' for stdin.")] = None,
    scope: Annotated[str, typer.Option(help="The topic of the send, or '*'.")] = "*",
) -> None:
    """May I send to these? CSV on stdout: address,verdict,reason,since."""
    wanted = list(_addresses(addresses, file))
    if not wanted:
        raise fail("give addresses or --file", code=2)
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(["address", "verdict", "reason", "since"])
    for result in _ledger(ctx).check(wanted, scope):
        if result.error:
            console.print(f"warning: {result.error}", highlight=False)
        writer.writerow([result.address, result.verdict, result.reason_class or "", _iso(result.since)])


@app.command("list")
@handles_errors
def list_(
    ctx: typer.Context, reason: ReasonOpt = None, scope: ScopeOpt = None, since: SinceOpt = None,
    until: UntilOpt = None, match: MatchOpt = None,
    limit: Annotated[int, typer.Option(help="Rows to show.")] = 50,
) -> None:
    """Show active suppressions matching the filters, with counts per reason class."""
    ledger = _ledger(ctx)
    flt = _filter(reason, scope, since, until, match)
    table = Table("address", "scope", "reason", "bounce reason", "since", "expires", "source")
    for row in ledger.find(flt, limit=limit):
        table.add_row(row.address, row.scope, row.reason_class, row.reason or "", _iso(row.created_at),
                      _iso(row.expires_at), row.source)
    stdout.print(table)
    counts = ledger.count_by_class(flt)
    console.print("  ".join(f"{cls}: {n}" for cls, n in sorted(counts.items())) or "no suppressions")


@app.command()
@handles_errors
def export(
    ctx: typer.Context,
    format: Annotated[str, typer.Option("--format", help="csv or jsonl.")] = "csv",
    output: Annotated[Path | None, typer.Option("-o", "--output", help="File (default stdout).")] = None,
    reason: ReasonOpt = None, scope: ScopeOpt = None, since: SinceOpt = None, until: UntilOpt = None,
    match: MatchOpt = None,
) -> None:
    """Export suppressions as CSV or JSON lines."""
    if format not in export_mod.FORMATS:
        raise fail(f"--format must be csv or jsonl, not {format!r}", code=2)
    rows = _ledger(ctx).iter_export(_filter(reason, scope, since, until, match))
    stream: TextIO = output.open("w", encoding="utf-8", newline="") if output else sys.stdout
    try:
        for chunk in export_mod.render(rows, format):
            stream.write(chunk)
    finally:
        if output:
            stream.close()


@import_app.command("suppressions")
@handles_errors
def import_suppressions(
    ctx: typer.Context,
    file: Path,
    from_: Annotated[str, typer.Option("--from", help="csv, ses, sendgrid, mailgun, postmark or "
                                                      "mailchimp.")] = "csv",
) -> None:
    """Import a suppression list, whole or not at all: one bad line and nothing is
    applied, with every bad line named."""
    ledger = _ledger(ctx)
    addresses: list[str] = []  # kept only to verify them afterwards
    with file.open(encoding="utf-8-sig", newline="") as stream, \
            Progress(TextColumn("importing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                     console=console, transient=True) as progress:
        rows = exports.iter_rows(from_, stream)
        if ledger.settings.verify_on_import:
            rows = _kept_addresses(rows, addresses)
        task = progress.add_task("import", total=_data_lines(file))
        summary = ledger.import_rows(rows, source=f"import:{from_}:{file.name}", actor=operator_actor(),
                                     progress=lambda n: progress.advance(task, n))
    table = Table("rows", "created", "re-activated", "already suppressed", title=f"imported {file.name}")
    table.add_row(str(summary.rows), str(summary.created), str(summary.reactivated), str(summary.unchanged))
    console.print(table)
    for cls, n in sorted(summary.by_class.items()):
        console.print(f"  {cls}: {n}")
    if ledger.settings.verify_on_import:
        screened = asyncio.run(screen_imported(ledger, Verifier(ledger.settings), addresses,
                                               source=f"verify:import:{from_}:{file.name}",
                                               actor=operator_actor()))
        console.print(f"  verified: {screened.created + screened.reactivated} undeliverable address(es) "
                      "suppressed as invalid")


def _kept_addresses(rows: Iterator[ImportRow], addresses: list[str]) -> Iterator[ImportRow]:
    for row in rows:
        addresses.append(row.address)
        yield row


def _data_lines(file: Path) -> int:
    """Lines after the header: the progress bar's length (a quoted field may span
    lines, so it can end a little short)."""
    with file.open("rb") as raw:
        lines = sum(chunk.count(b"\n") for chunk in iter(lambda: raw.read(1 << 20), b""))
    return max(lines - 1, 0)


@audit_app.command("show")
@handles_errors
def audit_show(ctx: typer.Context, address: str) -> None:
    """Every change to an address's suppressions, oldest first."""
    table = Table("#", "at", "actor", "action", "scope", "class", "note")
    for entry in _ledger(ctx).audit_for(address):
        table.add_row(str(entry.seq), _iso(entry.at), entry.actor, entry.action, entry.scope,
                      entry.reason_class or "", entry.note)
    stdout.print(table)


@audit_app.command("verify")
@handles_errors
def audit_verify(ctx: typer.Context) -> None:
    """Check the hash chain; exit 1 naming the first bad entry if it is broken."""
    problem = _ledger(ctx).verify_audit()
    if problem is not None:
        which = f"entry #{problem.seq} (row id {problem.entry_id})" if problem.entry_id else \
            f"after entry #{problem.seq - 1}"
        raise fail(f"audit chain broken at {which}: {problem.problem}")
    console.print("audit chain intact")


@app.command()
@handles_errors
def alerts(ctx: typer.Context, limit: Annotated[int, typer.Option()] = 50) -> None:
    """Sender-side failures (blocks, reputation, authentication): never recipient suppressions."""
    table = Table("at", "address", "reason", "code", "remote MTA", "diagnostic")
    for event in _ledger(ctx).alerts(limit=limit):
        table.add_row(_iso(event.occurred_at), event.address, event.reason or event.feedback_type or "",
                      " ".join(x for x in (event.reply_code, event.status) if x), event.remote_mta or "",
                      (event.diagnostic or "")[:120])
    stdout.print(table)
    # Conditions over many events (rates, bursts, blocklists), from reports.
    print_report_alerts(Reports.of(_ledger(ctx)), limit)


@app.command()
@handles_errors
def expire(ctx: typer.Context) -> None:
    """Lift suppressions whose expiry has passed, logging each."""
    console.print(f"expired {_ledger(ctx).expire_due()} suppression(s)")


@tenant_app.command("create")
@handles_errors
def tenant_create(ctx: typer.Context, name: str) -> None:
    """Create a tenant."""
    create_tenant(_engine(ctx), name)
    console.print(f"tenant {name} created; give it a key with `postwarden key create --tenant {name}`")


@tenant_app.command("list")
@handles_errors
def tenant_list(ctx: typer.Context) -> None:
    """List tenants."""
    for name in tenant_names(_engine(ctx)):
        out(name)


@key_app.command("create")
@handles_errors
def key_create(
    ctx: typer.Context,
    tenant: Annotated[str | None, typer.Option(help="Tenant the key acts for.")] = None,
    label: Annotated[str | None, typer.Option(help="What the key is for.")] = None,
) -> None:
    """Create an API key. It is shown once and stored only hashed."""
    key = create_api_key(_engine(ctx), tenant or context(ctx).tenant, label)
    out(key)
    console.print("store this key now: it cannot be shown again")
