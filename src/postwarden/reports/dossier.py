"""The provider dossier: what a mailbox provider's postmaster desk asks for, in one
document — the SMTP codes and texts received from that provider, the remediation
steps taken and the rates before and after each, the sending domains' SPF, DKIM and
DMARC status, DMARC aggregate results and the sending IPs' blocklist status.

:func:`gather` collects the facts (database and DNS); the renderers turn them into
Markdown (with PNG charts beside it), self-contained HTML (inline SVG) or PDF.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

import dns.resolver
from jinja2 import Environment, PackageLoader, select_autoescape
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from sqlalchemy import func, select

from postwarden import __version__
from postwarden.ledger.models import EVENTS, MESSAGES
from postwarden.reports import charts
from postwarden.reports.dmarc import SourceSummary
from postwarden.reports.health import DomainHealth, Listing, check_domain, dkim_status
from postwarden.reports.providers import OTHER, provider_for_domain, provider_for_mx, provider_label
from postwarden.reports.rollup import domain_of, recorded_providers
from postwarden.reports.service import Reports, look_up_blocklists
from postwarden.reports.stats import Counts, Lines, ProviderSeries, combined, days_between
from postwarden.resolver import make_resolver

FORMATS = ("md", "html", "pdf")
EFFECT_DAYS = 7
SAMPLES = 3
MAX_CODES = 40
SENDING_DOMAINS = 5

# Variable parts of diagnostic texts, so that one kind of reply is counted as one.
_VARIABLE = (
    (re.compile(r"[\w.+=-]+@[\w.-]+\w"), "<address>"),
    (re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}\b"), "<ip>"),
    (re.compile(r"\b[0-9a-f]{2,4}(?::[0-9a-f]{0,4}){2,7}\b", re.I), "<ip>"),
    # Host names with a number in them name one server of many (BN3EUR03.prod.outlook.com).
    (re.compile(r"\b(?=[\w.-]*[a-z])(?=[\w.-]*\d)[\w-]+(?:\.[\w-]+){2,}\b", re.I), "<host>"),
    (re.compile(r"\b(?=[0-9a-z-]*\d)[0-9a-z-]{10,}\b", re.I), "<id>"),
)


def normalise_text(text: str) -> str:
    """A diagnostic with addresses, IPs and message ids replaced (pure)."""
    text = " ".join(text.split())
    for pattern, placeholder in _VARIABLE:
        text = pattern.sub(placeholder, text)
    return text[:400]


@dataclass
class CodeRow:
    reply_code: str
    status: str
    reason: str
    text: str
    count: int = 0
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    samples: list[str] = field(default_factory=list)


@dataclass
class StepEffect:
    number: int
    at: datetime
    text: str
    before: Counts
    after: Counts


@dataclass
class Dossier:
    provider: str
    since: datetime
    until: datetime
    series: ProviderSeries
    lines: Lines
    codes: list[CodeRow]
    steps: list[Any]
    effects: list[StepEffect]
    domains: list[DomainHealth]
    listings: list[Listing]
    dmarc: list[SourceSummary]
    generated_at: datetime

    @property
    def label(self) -> str:
        return provider_label(self.provider)


def _codes(reports: Reports, provider: str, since: datetime) -> list[CodeRow]:
    engine = reports.engine
    with engine.connect() as conn:
        domain = domain_of(conn, EVENTS.c.address)
        columns = (domain, EVENTS.c.remote_mta, EVENTS.c.reply_code, EVENTS.c.status, EVENTS.c.reason,
                   EVENTS.c.diagnostic)
        rows = conn.execute(select(*columns, func.count(), func.min(EVENTS.c.occurred_at),
                                   func.max(EVENTS.c.occurred_at)).where(
            EVENTS.c.tenant_id == reports.tenant_id, EVENTS.c.occurred_at >= since,
            EVENTS.c.kind.in_(("bounce", "delay"))).group_by(*columns)).all()
        known = recorded_providers(conn, (row[0] for row in rows))
    found: dict[tuple[str, str, str], CodeRow] = {}
    for dom, mta, code, status, reason, diagnostic, n, first, last in rows:
        owner = known.get(dom) or provider_for_domain(dom) or provider_for_mx([mta] if mta else []) or OTHER
        if owner != provider:
            continue
        text = normalise_text(diagnostic or "")
        row = found.setdefault((code or "", status or "", text),
                               CodeRow(code or "", status or "", reason or "", text))
        row.count += n
        row.first_seen = min(filter(None, (row.first_seen, first)))
        row.last_seen = max(filter(None, (row.last_seen, last)))
        if diagnostic and len(row.samples) < SAMPLES and diagnostic not in row.samples:
            row.samples.append(" ".join(diagnostic.split())[:500])
    return sorted(found.values(), key=lambda r: (-r.count, r.reply_code, r.status))[:MAX_CODES]


def _effects(series: ProviderSeries, steps: Sequence[Any]) -> list[StepEffect]:
    effects = []
    for number, step in enumerate(steps, start=1):
        day = step.at.date()
        before = sum((c for d, c in series.days if day - timedelta(days=EFFECT_DAYS) <= d < day), Counts())
        after = sum((c for d, c in series.days if day <= d < day + timedelta(days=EFFECT_DAYS)), Counts())
        effects.append(StepEffect(number, step.at, step.text, before, after))
    return effects


def _sending_domains(reports: Reports, since: datetime) -> list[str]:
    configured = list(reports.settings.sending_domains)
    if configured:
        return configured
    with reports.engine.connect() as conn:
        domain = domain_of(conn, MESSAGES.c.sender)
        return [str(d) for d in conn.execute(select(domain).where(
            MESSAGES.c.tenant_id == reports.tenant_id, MESSAGES.c.sent_at >= since)
            .group_by(domain).order_by(func.count().desc()).limit(SENDING_DOMAINS)).scalars() if d]


def gather(reports: Reports, provider: str, since: datetime,
           resolver: dns.resolver.Resolver | None = None) -> Dossier:
    now = reports.clock()
    settings = reports.settings
    if provider == "all":
        series = combined(reports.stats(since.date(), now.date()), "all")
    else:
        found = reports.stats(since.date(), now.date(), [provider])
        series = found[0] if found else ProviderSeries(provider, [])
    if not series.days:
        series = ProviderSeries(provider, [(d, Counts()) for d in days_between(since.date(), now.date())])
    steps = reports.steps(since, None if provider == "all" else provider)
    resolver = resolver or make_resolver(settings)
    domains = _sending_domains(reports, since)
    health = [check_domain(resolver, d, selectors=[*settings.dkim_selectors], ip_zones=(),
                           domain_zones=settings.dnsbl_domain_zones) for d in domains]
    listings, _ = look_up_blocklists(settings, list(settings.sending_ips), resolver, now)
    return Dossier(
        provider=provider, since=since, until=now, series=series, lines=Lines.of(settings),
        codes=_codes(reports, provider, since) if provider != "all" else [],
        steps=steps, effects=_effects(series, steps), domains=health, listings=listings,
        dmarc=reports.dmarc_summary(since, domains or None, limit=50), generated_at=now)


# ---- rendering -----------------------------------------------------------------------


def _effects_chart(d: Dossier) -> Figure | None:
    if not d.effects:
        return None
    return charts.effects_figure([(str(e.number), e.before, e.after) for e in d.effects], d.lines)

def _pct(rate: float | None) -> str:
    return "–" if rate is None else f"{rate:.2%}"


def _change(before: float | None, after: float | None) -> str:
    if before is None or after is None:
        return "–"
    return f"{(after - before) * 100:+.2f} points"


def summary_rows(d: Dossier) -> list[tuple[str, str]]:
    total = d.series.total
    return [
        ("Period", f"{d.since:%Y-%m-%d} to {d.until:%Y-%m-%d} (UTC)"),
        ("Messages sent", f"{total.sent:,}"),
        ("Delivered (reported)", f"{total.delivered:,}"),
        ("Bounces (hard / soft / sender-side)",
         f"{total.hard_bounces:,} / {total.soft_bounces:,} / {total.sender_failures:,}"),
        ("Complaints", f"{total.complaints:,}"),
        ("Unsubscribes", f"{total.unsubscribes:,}"),
        ("Complaint rate", f"{_pct(total.complaint_rate)} (lines {d.lines.complaint[0]:.1%} / "
                           f"{d.lines.complaint[1]:.1%})"),
        ("Bounce rate", f"{_pct(total.bounce_rate)} (lines {d.lines.bounce[0]:.0%} / "
                        f"{d.lines.bounce[1]:.0%})"),
    ]


def _auth_rows(d: Dossier) -> list[list[str]]:
    rows = []
    for h in d.domains:
        spf = f"{h.spf.status}: {h.spf.lookups}/{h.spf.limit} lookups"
        dkim = dkim_status(h.dkim) + ": " + (", ".join(f"{k.selector} ({k.bits} bits)" for k in h.dkim
                                                       if k.status == "ok") or "no key found")
        dmarc = f"{h.dmarc.status}: p={h.dmarc.policy or '–'}"
        if h.dmarc.rua:
            dmarc += ", rua set"
        problems = "; ".join([*h.spf.problems, *h.dmarc.problems,
                              *(p for k in h.dkim for p in k.problems if k.record)])
        rows.append([h.domain, spf, dkim, dmarc, problems or "–"])
    return rows


def _listing_rows(d: Dossier) -> list[list[str]]:
    subjects = [*d.listings, *(x for h in d.domains for x in h.blocklists)]
    return [[x.subject, x.zone, "LISTED " + (x.answer or "") if x.listed else ("error: " + x.error if x.error
                                                                              else "not listed")]
            for x in subjects]


def _code_rows(d: Dossier) -> list[list[str]]:
    return [[r.reply_code or "–", r.status or "–", r.reason or "–", str(r.count),
             f"{r.first_seen:%Y-%m-%d %H:%M}" if r.first_seen else "", f"{r.last_seen:%Y-%m-%d %H:%M}"
             if r.last_seen else "", r.text] for r in d.codes]


def _effect_rows(d: Dossier) -> list[list[str]]:
    return [[str(e.number), f"{e.at:%Y-%m-%d %H:%M}", e.text, _pct(e.before.complaint_rate),
             _pct(e.after.complaint_rate), _change(e.before.complaint_rate, e.after.complaint_rate),
             _pct(e.before.bounce_rate), _pct(e.after.bounce_rate),
             _change(e.before.bounce_rate, e.after.bounce_rate)] for e in d.effects]


def _dmarc_rows(d: Dossier) -> list[list[str]]:
    def share(n: int, total: int) -> str:
        return _pct(n / total if total else None)

    return [[s.header_from, s.source_ip, f"{s.messages:,}", share(s.dmarc_pass, s.messages),
             share(s.dkim_pass, s.messages), share(s.spf_pass, s.messages),
             f"{s.quarantined:,} / {s.rejected:,}"] for s in d.dmarc]


CODE_HEAD = ["Reply", "Status", "Reason", "Count", "First seen", "Last seen",
             "Text (variable parts replaced)"]
EFFECT_HEAD = ["#", "When", "Step", "Complaints before", "after", "change", "Bounces before", "after",
               "change"]
AUTH_HEAD = ["Domain", "SPF", "DKIM", "DMARC", "Problems"]
LISTING_HEAD = ["IP or domain", "Blocklist", "Result"]
DMARC_HEAD = ["Header from", "Source IP", "Messages", "DMARC pass", "DKIM pass", "SPF pass",
              "Quarantined / rejected"]


def _md_table(head: list[str], rows: list[list[str]]) -> str:
    if not rows:
        return "_None._\n"

    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def render_markdown(d: Dossier, chart_name: str, effects_name: str | None = None) -> str:
    parts = [f"# Deliverability dossier: {d.label}\n",
             f"Prepared by postwarden {__version__} on {d.generated_at:%Y-%m-%d %H:%M} UTC.\n",
             "## Summary\n", _md_table(["", ""], [list(r) for r in summary_rows(d)]),
             f"\n![Daily volume, complaint and bounce rates]({chart_name})\n",
             "\n## SMTP replies received from this provider\n", _md_table(CODE_HEAD, _code_rows(d))]
    samples = [(r, r.samples[0]) for r in d.codes[:10] if r.samples]
    if samples:
        parts.append("\nSamples, as received:\n")
        parts += ["- `" + s.replace("`", "'") + "`" for _, s in samples]
        parts.append("")
    parts += ["\n## Remediation steps and their effect\n",
              f"Rates over the {EFFECT_DAYS} days before and after each step.\n\n",
              _md_table(EFFECT_HEAD, _effect_rows(d)),
              f"\n![Rates before and after each step]({effects_name})\n" if effects_name else "",
              "\n## Sending domains: SPF, DKIM, DMARC\n", _md_table(AUTH_HEAD, _auth_rows(d)),
              "\n## DMARC aggregate reports\n", _md_table(DMARC_HEAD, _dmarc_rows(d)),
              "\n## Blocklists\n", _md_table(LISTING_HEAD, _listing_rows(d))]
    return "\n".join(parts)


_environment = Environment(loader=PackageLoader("postwarden.reports", "templates"),
                           autoescape=select_autoescape(["html"]))


def render_html(d: Dossier) -> str:
    # The SVGs are our own drawings; the XML declaration must go to inline them.
    svg = charts.provider_svg(d.series, d.lines, d.steps)
    svg = svg[svg.index("<svg"):]
    figure = _effects_chart(d)
    effects = charts.render(figure, "svg").decode() if figure is not None else ""
    effects = effects[effects.index("<svg"):] if effects else ""
    return _environment.get_template("dossier.html").render(
        d=d, version=__version__, summary=summary_rows(d), chart=svg, effects_chart=effects,
        effect_days=EFFECT_DAYS,
        tables=[("SMTP replies received from this provider", CODE_HEAD, _code_rows(d)),
                ("Remediation steps and their effect", EFFECT_HEAD, _effect_rows(d)),
                ("Sending domains: SPF, DKIM, DMARC", AUTH_HEAD, _auth_rows(d)),
                ("DMARC aggregate reports", DMARC_HEAD, _dmarc_rows(d)),
                ("Blocklists", LISTING_HEAD, _listing_rows(d))],
        samples=[(r, r.samples[0]) for r in d.codes[:10] if r.samples])


# A4 portrait, in inches; text pages are laid out line by line in a fixed font.
_PAGE = (8.27, 11.69)
_LINES_PER_PAGE = 62
_WIDTH = 100


def _wrap(text: str, width: int = _WIDTH) -> list[str]:
    out: list[str] = []
    for paragraph in text.split("\n"):
        # Continuation lines sit four columns right of where the paragraph starts.
        indent = " " * (len(paragraph) - len(paragraph.lstrip()) + 4)
        while len(paragraph) > width:
            cut = paragraph.rfind(" ", len(indent), width)
            cut = cut if cut > width // 2 else width
            out.append(paragraph[:cut])
            paragraph = indent + paragraph[cut:].lstrip()
        out.append(paragraph)
    return out


def _text_table(head: list[str], rows: list[list[str]], widths: list[int]) -> list[str]:
    if not rows:
        return ["(none)"]

    def line(cells: list[str]) -> str:
        return "  ".join(c[:w].ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    return [line(head), line(["-" * w for w in widths]), *(line(r) for r in rows)]


def _pdf_lines(d: Dossier) -> list[tuple[str, str]]:
    """(style, text) lines: 'title', 'head' or 'body'."""
    lines: list[tuple[str, str]] = [("title", f"Deliverability dossier: {d.label}"),
                                    ("body", f"Prepared by postwarden {__version__} on "
                                             f"{d.generated_at:%Y-%m-%d %H:%M} UTC."), ("body", "")]
    lines.append(("head", "Summary"))
    lines += [("body", f"{k:<38}{v}") for k, v in summary_rows(d)]

    def section(title: str, body: list[str]) -> None:
        lines.extend([("body", ""), ("head", title)])
        lines.extend(("body", x) for text in body for x in _wrap(text))

    section("SMTP replies received from this provider", [
        x for r in d.codes for x in (
            f"{r.count:>6} x  {r.reply_code or '-'} {r.status or '-'}  {r.reason or '-'}  "
            f"first {r.first_seen:%Y-%m-%d}  last {r.last_seen:%Y-%m-%d}" if r.first_seen and r.last_seen
            else f"{r.count:>6} x  {r.reply_code} {r.status}",
            f"          {r.text}", *(f"          sample: {s}" for s in r.samples[:1]))] or ["(none)"])
    section(f"Remediation steps and rates {EFFECT_DAYS} days before / after",
            [x for e in _effect_rows(d) for x in (
                f"{e[0]}. {e[1]}  {e[2]}", f"     complaint rate {e[3]} -> {e[4]} ({e[5]});  "
                                           f"bounce rate {e[6]} -> {e[7]} ({e[8]})")] or ["(none)"])
    section("Sending domains: SPF, DKIM, DMARC",
            [x for r in _auth_rows(d) for x in (r[0], f"  SPF   {r[1]}", f"  DKIM  {r[2]}", f"  DMARC {r[3]}",
                                                 f"  problems: {r[4]}")] or ["(none)"])
    section("DMARC aggregate reports", _text_table(DMARC_HEAD[:6], [r[:6] for r in _dmarc_rows(d)],
                                                   [22, 16, 10, 10, 10, 10]))
    section("Blocklists", _text_table(LISTING_HEAD, _listing_rows(d), [30, 28, 30]))
    return lines


def _text_pages(lines: list[tuple[str, str]]) -> list[Figure]:
    pages: list[Figure] = []
    for start in range(0, len(lines), _LINES_PER_PAGE):
        figure = Figure(figsize=_PAGE)
        y = 0.955
        for style, text in lines[start:start + _LINES_PER_PAGE]:
            if style == "title":
                figure.text(0.06, y, text, fontsize=15, fontweight="bold", va="top")
                y -= 0.026
            elif style == "head":
                figure.text(0.06, y, text, fontsize=11, fontweight="bold", va="top", color="#2c3e50")
                y -= 0.018
            else:
                figure.text(0.06, y, text, fontsize=7, family="monospace", va="top")
                y -= 0.0142
        figure.text(0.94, 0.02, f"page {len(pages) + 1}", fontsize=7, ha="right", color="#777777")
        pages.append(figure)
    return pages


def render_pdf(d: Dossier, target: Path | BinaryIO) -> None:
    text = _text_pages(_pdf_lines(d))
    chart = charts.provider_figure(d.series, d.lines, d.steps)
    chart.set_size_inches(_PAGE[0], _PAGE[1] * 0.62)
    with PdfPages(target, metadata={"Title": f"Deliverability dossier: {d.label}",
                                  "Creator": f"postwarden {__version__}", "CreationDate": None}) as pdf:
        pdf.savefig(text[0])
        pdf.savefig(chart)
        effects = _effects_chart(d)
        if effects is not None:
            effects.set_size_inches(_PAGE[0], _PAGE[1] * 0.38)
            pdf.savefig(effects)
        for page in text[1:]:
            pdf.savefig(page)


def write(d: Dossier, fmt: str, path: Path) -> list[Path]:
    """Write the dossier to ``path``; the files written (Markdown gets its chart beside it)."""
    if fmt == "md":
        chart = path.with_name(path.stem + "-rates.png")
        chart.write_bytes(charts.render(charts.provider_figure(d.series, d.lines, d.steps), "png"))
        written = [path, chart]
        figure = _effects_chart(d)
        if figure is not None:
            written.append(path.with_name(path.stem + "-steps.png"))
            written[-1].write_bytes(charts.render(figure, "png"))
        path.write_text(render_markdown(d, chart.name, written[2].name if figure else None), encoding="utf-8")
        return written
    if fmt == "html":
        path.write_text(render_html(d), encoding="utf-8")
        return [path]
    render_pdf(d, path)
    return [path]
