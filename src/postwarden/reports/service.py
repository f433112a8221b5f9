"""``Reports``: one tenant's statistics, alerts, remediation log and DMARC reports,
for the CLI, the API, the web pages and the dossier; and ``ReportsTicker``, the
periodic work intake workers do for reports."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

import dns.resolver
from sqlalchemy import Engine, select

from postwarden.errors import InvalidInput
from postwarden.ledger import Ledger
from postwarden.ledger.export import naive_utc
from postwarden.ledger.models import REMEDIATION
from postwarden.ledger.service import utcnow
from postwarden.reports import alerts as alerts_mod
from postwarden.reports import dmarc
from postwarden.reports.health import Listing, Lookup, check_blocklists
from postwarden.reports.providers import MAILBOX_PROVIDERS, OTHER
from postwarden.reports.rollup import RollupResult, roll_up
from postwarden.reports.stats import ProviderSeries, series
from postwarden.resolver import make_resolver
from postwarden.settings import Settings

log = logging.getLogger("postwarden.reports")

PROVIDER_NAMES = (*(p.name for p in MAILBOX_PROVIDERS), OTHER)
_SPAN = re.compile(r"^(\d{1,4})([dwh])$")
MAX_STEP_TEXT = 2000


def parse_since(text: str, now: datetime) -> datetime:
    """``30d``, ``12w``, ``48h`` back from now, or a date or time (ISO 8601)."""
    found = _SPAN.match(text.strip().lower())
    if found:
        amount, unit = int(found.group(1)), found.group(2)
        return now - {"d": timedelta(days=amount), "w": timedelta(weeks=amount),
                      "h": timedelta(hours=amount)}[unit]
    try:
        when = naive_utc(datetime.fromisoformat(text.strip()))
    except ValueError:
        raise InvalidInput(f"cannot read {text!r} as a time: use 30d, 12w, 48h or 2026-01-31") from None
    assert when is not None
    return when


def check_provider(name: str | None) -> str | None:
    if name is None or name in PROVIDER_NAMES:
        return name
    raise InvalidInput(f"unknown provider {name!r}: one of {', '.join(PROVIDER_NAMES)}")


def look_up_blocklists(settings: Settings, subjects: Sequence[str] | None,
                       resolver: dns.resolver.Resolver | None, now: datetime,
                       ) -> tuple[list[Listing], list[alerts_mod.Alert]]:
    """The listings of ``subjects`` (default: the sending IPs and domains) and an
    alert for each one that is listed."""
    if subjects is None:
        subjects = [*settings.sending_ips, *settings.sending_domains]
    found = check_blocklists(Lookup(resolver or make_resolver(settings)), subjects,
                             settings.dnsbl_ip_zones, settings.dnsbl_domain_zones)
    return found, [alerts_mod.blocklist_alert(x.subject, x.zone, x.answer or "", now.date())
                   for x in found if x.listed]


class Reports:
    def __init__(self, engine: Engine, tenant_id: int, settings: Settings,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.engine = engine
        self.tenant_id = tenant_id
        self.settings = settings
        self.clock = clock

    @classmethod
    def of(cls, ledger: Ledger) -> Reports:
        return cls(ledger.engine, ledger.tenant_id, ledger.settings, ledger.clock)

    # ---- statistics -----------------------------------------------------------------

    def refresh(self) -> RollupResult:
        """Bring the daily statistics up to date and raise the alerts they show."""
        result = roll_up(self.engine, float(self.settings.report_gap_seconds))
        if result.days:
            alerts_mod.evaluate(self.engine, self.settings, result.days, self.clock())
        return result

    def stats(self, since: date, until: date | None = None,
              providers: Sequence[str] | None = None) -> list[ProviderSeries]:
        self.refresh()
        for name in providers or ():
            check_provider(name)
        return series(self.engine, self.tenant_id, since, until or self.clock().date(), providers)

    # ---- alerts ---------------------------------------------------------------------

    def alerts(self, since: datetime | None = None, limit: int = 500) -> list[Any]:
        self.refresh()
        return alerts_mod.listed(self.engine, self.tenant_id, since, limit)

    def check_blocklists(self, resolver: dns.resolver.Resolver | None = None,
                         subjects: Sequence[str] | None = None) -> list[Listing]:
        """Look up the sending IPs and domains in the blocklists; raise an alert for
        each listing."""
        now = self.clock()
        found, hits = look_up_blocklists(self.settings, subjects, resolver, now)
        if hits:
            with self.engine.begin() as conn:
                alerts_mod.raise_alerts(conn, self.tenant_id, hits, now, self.settings)
        return found

    # ---- the remediation log --------------------------------------------------------

    def add_step(self, text: str, *, actor: str, at: datetime | None = None,
                 provider: str | None = None) -> int:
        text = text.strip()
        if not text:
            raise InvalidInput("say what was changed, e.g. 'Removed the purchased-list segment'")
        if len(text) > MAX_STEP_TEXT:
            raise InvalidInput(f"a remediation step is at most {MAX_STEP_TEXT} characters")
        now = self.clock()
        with self.engine.begin() as conn:
            return int(conn.execute(REMEDIATION.insert().values(
                tenant_id=self.tenant_id, at=at or now, provider=check_provider(provider), text=text,
                actor=actor[:200], created_at=now).returning(REMEDIATION.c.id)).scalar_one())

    def steps(self, since: datetime | None = None, provider: str | None = None) -> list[Any]:
        """Steps in time order; a provider's view includes the steps meant for all."""
        query = select(REMEDIATION).where(REMEDIATION.c.tenant_id == self.tenant_id)
        if since is not None:
            query = query.where(REMEDIATION.c.at >= since)
        if provider is not None:
            query = query.where((REMEDIATION.c.provider == provider) | REMEDIATION.c.provider.is_(None))
        with self.engine.connect() as conn:
            return list(conn.execute(query.order_by(REMEDIATION.c.at, REMEDIATION.c.id)).all())

    # ---- DMARC ----------------------------------------------------------------------

    def import_dmarc(self, data: bytes, source: str) -> dmarc.Ingested:
        with self.engine.begin() as conn:
            return dmarc.ingest(conn, self.tenant_id, data, source, self.clock(),
                                int(self.settings.dmarc_max_bytes))

    def import_dmarc_files(self, files: Iterable[tuple[str, bytes]],
                           batch: int = 200) -> tuple[dmarc.Ingested, list[tuple[str, str]]]:
        """Many report files: each is read on its own (one that cannot be read is named
        in the refusals and skipped), and the readable ones stored ``batch`` files to a
        transaction — a commit per file would cost more than the parsing."""
        total = dmarc.Ingested()
        refused: list[tuple[str, str]] = []
        limit = int(self.settings.dmarc_max_bytes)
        pending: list[tuple[str, dmarc.AggregateReport]] = []

        def flush() -> None:
            with self.engine.begin() as conn:
                now = self.clock()
                for source, report in pending:
                    if dmarc.store(conn, self.tenant_id, report, source, now):
                        total.stored += 1
                        total.records += len(report.rows)
                    else:
                        total.duplicates += 1
            pending.clear()

        for name, data in files:
            try:
                pending += [(f"import:{name}", r) for r in dmarc.read_reports(data, limit)]
            except dmarc.DmarcRefused as exc:
                refused.append((name, exc.message))
            if len(pending) >= batch:
                flush()
        if pending:
            flush()
        return total, refused

    def dmarc_summary(self, since: datetime | None = None, domains: Sequence[str] | None = None,
                      limit: int = 500) -> list[dmarc.SourceSummary]:
        return dmarc.summary(self.engine, self.tenant_id, since, domains, limit)


def step_json(row: Any) -> dict[str, Any]:
    return {"id": row.id, "at": row.at.isoformat(), "provider": row.provider, "text": row.text,
            "actor": row.actor}


class ReportsTicker:
    """The reports' share of an intake worker's loop: the rollup and alert checks
    every ``report_rollup_seconds``, alert webhook deliveries as they fall due, and
    the blocklist sweep every ``blocklist_check_seconds``. Each runs in a thread of
    its own, one at a time, so a long catch-up or a slow blocklist never holds up
    the intake; failures are logged and tried again next time."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings
        self._rolled = time.monotonic()
        self._swept: float | None = None
        self._threads: dict[str, threading.Thread] = {}

    def _start(self, name: str, work: Callable[[], None]) -> None:
        running = self._threads.get(name)
        if running is not None and running.is_alive():
            return
        self._threads[name] = thread = threading.Thread(target=work, name=f"reports-{name}", daemon=True)
        thread.start()

    def tick(self) -> None:
        now = time.monotonic()
        if now - self._rolled >= float(self.settings.report_rollup_seconds):
            self._rolled = now
            self._start("rollup", self.run_rollup)
        every = float(self.settings.blocklist_check_seconds)
        subjects = [*self.settings.sending_ips, *self.settings.sending_domains]
        if every > 0 and subjects and (self._swept is None or now - self._swept >= every):
            self._swept = now
            self._start("blocklists", lambda: self.run_blocklists(subjects))

    def run_rollup(self) -> None:
        try:
            result = roll_up(self.engine, float(self.settings.report_gap_seconds))
            when = utcnow()
            if result.days:
                alerts_mod.evaluate(self.engine, self.settings, result.days, when)
            alerts_mod.deliver_pending(self.engine, self.settings, when)
        except Exception:
            log.exception("reports: rollup or alerts failed; trying again later")

    def run_blocklists(self, subjects: Sequence[str]) -> None:
        try:
            now = utcnow()
            _, hits = look_up_blocklists(self.settings, subjects, None, now)
            if hits:
                alerts_mod.raise_for_all_tenants(self.engine, hits, now, self.settings)
        except Exception:
            log.exception("reports: blocklist sweep failed; trying again later")
