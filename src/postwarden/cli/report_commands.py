"""Report commands: stats, remediation, dossier, health, dmarc and import dmarc."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from postwarden.cli.app import app, console, context, handles_errors, import_app, operator_actor, stdout
from postwarden.errors import InvalidInput
from postwarden.ledger import Ledger
from postwarden.ledger.db import make_engine
from postwarden.reports.health import DomainHealth, check_domain, dkim_status
from postwarden.reports.service import Reports, check_provider, parse_since, step_json
from postwarden.reports.stats import Counts, Lines, series_json
from postwarden.resolver import make_resolver

remediation_app = typer.Typer(help="The remediation log: what was changed to fix deliverability.",
                              no_args_is_help=True)
app.add_typer(remediation_app, name="remediation")

SinceOpt = Annotated[str, typer.Option("--since", help="How far back: 30d, 12w, 48h or a date.")]
_LEVEL_STYLE = {"critical": "bold red", "warning": "yellow", None: ""}


def _reports(ctx: typer.Context) -> Reports:
    obj = context(ctx)
    return Reports.of(Ledger(make_engine(obj.settings.database_url), obj.tenant, obj.settings))


def _rate(rate: float | None, level: str | None) -> str:
    text = "–" if rate is None else f"{rate:.2%}"
    style = _LEVEL_STYLE[level]
    return f"[{style}]{text}[/]" if style else text


def _row(label: str, c: Counts, lines: Lines) -> list[str]:
    return [label, f"{c.sent:,}", f"{c.delivered:,}", f"{c.hard_bounces:,}", f"{c.soft_bounces:,}",
            f"{c.sender_failures:,}", f"{c.complaints:,}", f"{c.unsubscribes:,}",
            _rate(c.bounce_rate, lines.level(c.bounce_rate, "bounce")),
            _rate(c.complaint_rate, lines.level(c.complaint_rate, "complaint"))]


_HEAD = ("sent", "delivered", "hard", "soft", "sender-side", "complaints", "unsubs", "bounce rate",
         "complaint rate")


@app.command()
@handles_errors
def stats(
    ctx: typer.Context,
    since: SinceOpt = "30d",
    provider: Annotated[list[str] | None, typer.Option(help="Only this provider; repeat.")] = None,
    daily: Annotated[bool, typer.Option("--daily", help="One row per day and provider.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="The series as JSON (as GET /v1/stats).")] = False,
) -> None:
    """Per-provider statistics: volume, bounces, complaints and their rates against the lines."""
    reports = _reports(ctx)
    start = parse_since(since, reports.clock())
    found = reports.stats(start.date(), providers=provider)
    lines = Lines.of(reports.settings)
    if as_json:
        typer.echo(json.dumps(series_json(found, lines, with_days=daily), indent=2))
        return
    table = Table("provider", *_HEAD, title=f"since {start:%Y-%m-%d} · lines: complaints "
                  f"{lines.complaint[0]:.1%}/{lines.complaint[1]:.1%}, bounces "
                  f"{lines.bounce[0]:.0%}/{lines.bounce[1]:.0%}")
    for s in found:
        if daily:
            for day, counts in s.days:
                if counts != Counts():
                    table.add_row(*_row(f"{s.provider} {day.isoformat()}", counts, lines))
            table.add_section()
        else:
            table.add_row(*_row(s.label, s.total, lines))
    if found and not daily:
        table.add_section()
        table.add_row(*_row("all providers", sum((s.total for s in found), Counts()), lines))
    stdout.print(table)


@remediation_app.command("add")
@handles_errors
def remediation_add(
    ctx: typer.Context,
    text: str,
    provider: Annotated[str | None, typer.Option(help="The provider it was for (default: all).")] = None,
    at: Annotated[str | None, typer.Option(help="When it took effect (ISO 8601; default now).")] = None,
) -> None:
    """Record a remediation step, e.g. "Removed the purchased-list segment"."""
    when = None
    if at:
        try:
            when = datetime.fromisoformat(at)
        except ValueError:
            raise InvalidInput(f"--at: cannot read {at!r}; use 2026-01-31T09:00") from None
    step = _reports(ctx).add_step(text, actor=operator_actor(), at=when, provider=provider)
    console.print(f"remediation step #{step} recorded")


@remediation_app.command("list")
@handles_errors
def remediation_list(
    ctx: typer.Context,
    since: Annotated[str | None, typer.Option(help="How far back: 30d, 12w or a date.")] = None,
    provider: Annotated[str | None, typer.Option(help="Steps for this provider and for all.")] = None,
) -> None:
    """The remediation log, oldest first."""
    reports = _reports(ctx)
    rows = reports.steps(parse_since(since, reports.clock()) if since else None, provider)
    table = Table("#", "at", "provider", "step", "by")
    for row in rows:
        j = step_json(row)
        table.add_row(str(j["id"]), j["at"][:16], j["provider"] or "all", j["text"], j["actor"])
    stdout.print(table)


@app.command()
@handles_errors
def dossier(
    ctx: typer.Context,
    provider: Annotated[str, typer.Option(help="The mailbox provider, e.g. microsoft, google, yahoo; "
                                               "'all' for every provider together.")],
    since: SinceOpt = "30d",
    format_: Annotated[str, typer.Option("--format", help="md, html or pdf.")] = "md",
    output: Annotated[Path | None, typer.Option(help="File to write (default: "
                                                     "dossier-<provider>-<date>.<format>).")] = None,
) -> None:
    """The provider dossier: codes received, remediation and its effect, authentication
    and blocklist status — what a postmaster desk asks for."""
    # Here, not at the top: matplotlib's PDF backend would slow every command's start.
    from postwarden.reports import dossier as dossier_mod

    if format_ not in dossier_mod.FORMATS:
        raise InvalidInput(f"--format: one of {', '.join(dossier_mod.FORMATS)}")
    reports = _reports(ctx)
    if provider != "all":
        check_provider(provider)
    now = reports.clock()
    facts = dossier_mod.gather(reports, provider, parse_since(since, now))
    path = output or Path(f"dossier-{provider}-{now:%Y-%m-%d}.{format_}")
    for written in dossier_mod.write(facts, format_, path):
        console.print(f"wrote {written}")


def _status(text: str) -> str:
    style = {"ok": "green", "warning": "yellow", "error": "bold red", "missing": "bold red"}.get(text, "")
    return f"[{style}]{text}[/]" if style else text


def _print_health(report: DomainHealth) -> None:
    stdout.print(f"[bold]{report.domain}[/]")
    spf = report.spf
    stdout.print(f"  SPF    {_status(spf.status)}  {spf.record or '(none)'}", highlight=False)
    stdout.print(f"         {spf.lookups} of {spf.limit} DNS lookups; includes: "
                 f"{', '.join(n.domain for n in spf.tree.includes) or 'none'}", highlight=False)
    for text in [*spf.problems, *spf.warnings]:
        stdout.print(f"         - {text}", highlight=False)
    stdout.print(f"  DKIM   {_status(dkim_status(report.dkim))}")
    for key in report.dkim:
        detail = f"{key.key_type} {key.bits} bits" if key.bits else "; ".join(key.problems) or "not published"
        stdout.print(f"         {key.selector}: {_status(key.status)} {detail}", highlight=False)
    d = report.dmarc
    where = f" (at {d.found_at})" if d.found_at and d.found_at != report.domain else ""
    stdout.print(f"  DMARC  {_status(d.status)}  {d.record or '(none)'}{where}", highlight=False)
    if d.record:
        stdout.print(f"         policy {d.policy}, subdomains {d.subdomain_policy or d.policy}, "
                     f"alignment dkim={d.adkim} spf={d.aspf}, pct {d.pct}; rua {', '.join(d.rua) or 'none'}; "
                     f"ruf {', '.join(d.ruf) or 'none'}", highlight=False)
    for text in [*d.problems, *d.warnings]:
        stdout.print(f"         - {text}", highlight=False)
    mx = report.mx
    hosts = ", ".join(f"{p} {h}" for p, h in mx.hosts)
    stdout.print(f"  MX     {_status(mx.status)}  {hosts}", highlight=False)
    for text in mx.problems:
        stdout.print(f"         - {text}", highlight=False)
    table = Table("IP or domain", "blocklist", "result", title="blocklists")
    for x in report.blocklists:
        table.add_row(x.subject, x.zone, f"[bold red]LISTED[/] {x.answer}" if x.listed else
                      (f"[yellow]{x.error}[/]" if x.error else "[green]not listed[/]"))
    stdout.print(table)


@app.command()
@handles_errors
def health(
    ctx: typer.Context,
    domain: str,
    ip: Annotated[list[str] | None, typer.Option(help="A sending IP for the blocklists; repeat.")] = None,
    selector: Annotated[list[str] | None, typer.Option(help="DKIM selector to look for; repeat "
                                                            "(default: the dkim_selectors setting).")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Sending-domain health: SPF (with its DNS lookup count), DKIM keys, DMARC, MX and blocklists."""
    settings = context(ctx).settings
    report = check_domain(make_resolver(settings), domain, selectors=selector or settings.dkim_selectors,
                          ips=ip or [], ip_zones=settings.dnsbl_ip_zones,
                          domain_zones=settings.dnsbl_domain_zones)
    if as_json:
        typer.echo(json.dumps(report.as_json(), indent=2, default=str))
        return
    _print_health(report)
    if any(x.listed for x in report.blocklists):
        reports = _reports(ctx)
        reports.check_blocklists(subjects=[x.subject for x in report.blocklists if x.listed])
        raise typer.Exit(2)


@import_app.command("dmarc")
@handles_errors
def import_dmarc(ctx: typer.Context, paths: list[Path]) -> None:
    """Import DMARC aggregate reports: XML, gzip, zip or saved emails carrying one;
    directories are read whole. A file that cannot be read is named and skipped."""
    reports = _reports(ctx)
    files = [f for p in paths
             for f in (sorted(x for x in p.rglob("*") if x.is_file()) if p.is_dir() else [p])]
    result, refused = reports.import_dmarc_files((str(path), path.read_bytes()) for path in files)
    for name, why in refused:
        console.print(f"  {name}: refused: {why}", highlight=False)
    console.print(f"{result.stored} report(s) stored with {result.records} record(s); "
                  f"{result.duplicates} already stored; {len(refused)} refused")
    if refused:
        raise typer.Exit(1)


@app.command("dmarc")
@handles_errors
def dmarc_summary(
    ctx: typer.Context,
    since: SinceOpt = "30d",
    domain: Annotated[list[str] | None, typer.Option(help="Header-from domain; repeat.")] = None,
) -> None:
    """DMARC aggregate results per sending domain and source IP."""
    reports = _reports(ctx)
    rows = reports.dmarc_summary(parse_since(since, reports.clock()), domain)
    table = Table("header from", "source IP", "messages", "DMARC pass", "DKIM pass", "SPF pass",
                  "quarantined", "rejected", "reports")
    for r in rows:
        shares = [f"{n / r.messages:.1%}" if r.messages else "–"
                  for n in (r.dmarc_pass, r.dkim_pass, r.spf_pass)]
        table.add_row(r.header_from, r.source_ip, f"{r.messages:,}", *shares, f"{r.quarantined:,}",
                      f"{r.rejected:,}", str(r.reports))
    stdout.print(table)


def print_report_alerts(reports: Reports, limit: int) -> None:
    """Report alerts, newest first (``postwarden alerts`` shows them after the events)."""
    table = Table("raised", "level", "kind", "provider or subject", "alert", "webhook",
                  title="report alerts (rates, bursts, blocklists)")
    for a in reports.alerts(limit=limit):
        table.add_row(a.raised_at.isoformat(timespec="minutes"), f"[{_LEVEL_STYLE[a.level]}]{a.level}[/]",
                      a.kind, a.provider or a.subject or "", a.message, a.notify_state)
    stdout.print(table)
