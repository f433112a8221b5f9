"""Per-provider daily statistics, read from ``daily_stats`` after bringing it up to
date, and the rates mailbox providers hold senders to.

Bounce rate is bounces of every kind (hard, soft, sender-side) over messages sent.
Complaint rate is complaints over messages accepted (sent less bounced): Gmail and
Yahoo count complaints against mail that reached the mailbox, and hold bulk senders
under 0.3%, asking for under 0.1%.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, fields
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Engine, select

from postwarden.ledger.models import DAILY_STATS
from postwarden.reports.providers import provider_label
from postwarden.reports.rollup import COUNTERS, roll_up
from postwarden.settings import Settings


@dataclass(frozen=True)
class Counts:
    sent: int = 0
    delivered: int = 0
    deferred: int = 0
    hard_bounces: int = 0
    soft_bounces: int = 0
    sender_failures: int = 0
    complaints: int = 0
    unsubscribes: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))

    @property
    def bounces(self) -> int:
        return self.hard_bounces + self.soft_bounces + self.sender_failures

    @property
    def accepted(self) -> int:
        return max(self.sent - self.bounces, self.delivered, 0)

    @property
    def bounce_rate(self) -> float | None:
        return self.bounces / self.sent if self.sent else None

    @property
    def complaint_rate(self) -> float | None:
        return self.complaints / self.accepted if self.accepted else None

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "bounces": self.bounces, "bounce_rate": self.bounce_rate,
                "complaint_rate": self.complaint_rate}


@dataclass(frozen=True)
class Lines:
    """The rate lines drawn on charts and checked by alerts: (warning, critical)."""

    complaint: tuple[float, float]
    bounce: tuple[float, float]

    @classmethod
    def of(cls, settings: Settings) -> Lines:
        c, b = settings.report_complaint_rate_lines, settings.report_bounce_rate_lines
        return cls((float(c[0]), float(c[1])), (float(b[0]), float(b[1])))

    def level(self, rate: float | None, which: str) -> str | None:
        """'critical', 'warning' or None for a rate against its lines."""
        warning, critical = self.complaint if which == "complaint" else self.bounce
        if rate is None:
            return None
        if rate >= critical:
            return "critical"
        return "warning" if rate >= warning else None


@dataclass(frozen=True)
class ProviderSeries:
    provider: str
    days: list[tuple[date, Counts]]  # every day of the range, zeros included

    @property
    def label(self) -> str:
        return provider_label(self.provider)

    @property
    def total(self) -> Counts:
        return sum((c for _, c in self.days), Counts())


def days_between(since: date, until: date) -> Iterator[date]:
    day = since
    while day <= until:
        yield day
        day += timedelta(days=1)


def series(engine: Engine, tenant_id: int, since: date, until: date,
           providers: Sequence[str] | None = None, gap_seconds: float = 600.0) -> list[ProviderSeries]:
    """Daily counts per provider from ``since`` to ``until`` (inclusive), busiest
    provider first; the rollup runs first so that the answer includes everything
    recorded until now."""
    roll_up(engine, gap_seconds)
    query = select(DAILY_STATS.c.day, DAILY_STATS.c.provider, *(DAILY_STATS.c[c] for c in COUNTERS)).where(
        DAILY_STATS.c.tenant_id == tenant_id, DAILY_STATS.c.day >= since, DAILY_STATS.c.day <= until)
    if providers:
        query = query.where(DAILY_STATS.c.provider.in_(list(providers)))
    by_provider: defaultdict[str, dict[date, Counts]] = defaultdict(dict)
    with engine.connect() as conn:
        for day, provider, *values in conn.execute(query):
            by_provider[provider][day] = Counts(*values)
    calendar = list(days_between(since, until))
    result = [ProviderSeries(p, [(d, found.get(d, Counts())) for d in calendar])
              for p, found in by_provider.items()]
    result.sort(key=lambda s: (-s.total.sent, s.provider))
    return result


def combined(all_series: Sequence[ProviderSeries], name: str = "all") -> ProviderSeries:
    """Every provider's days added together."""
    if not all_series:
        return ProviderSeries(name, [])
    days = [d for d, _ in all_series[0].days]
    totals = [sum((s.days[i][1] for s in all_series), Counts()) for i in range(len(days))]
    return ProviderSeries(name, list(zip(days, totals, strict=True)))


def series_json(all_series: Sequence[ProviderSeries], lines: Lines, with_days: bool = True) -> dict[str, Any]:
    def rates(c: Counts) -> dict[str, Any]:
        return {**c.as_json(), "complaint_level": lines.level(c.complaint_rate, "complaint"),
                "bounce_level": lines.level(c.bounce_rate, "bounce")}

    return {
        "lines": {"complaint_rate": list(lines.complaint), "bounce_rate": list(lines.bounce)},
        "providers": [{
            "provider": s.provider, "label": s.label, "total": rates(s.total),
            **({"days": [{"day": d.isoformat(), **rates(c)} for d, c in s.days]} if with_days else {}),
        } for s in all_series],
    }
