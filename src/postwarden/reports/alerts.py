"""Report alerts: conditions seen in the statistics (a provider's complaint or bounce
rate over its line, a burst of sender-side failures at one provider) or a blocklist
listing of a sending IP or domain.

They sit beside the ledger's per-event alerts (``Ledger.alerts``: each sender-side
failure as it arrived) and summarise them: one report alert per condition and day,
kept unique by its ``key`` so that evaluating again raises nothing twice. When
``alert_webhook_url`` is set each new alert is POSTed there, signed, and retried with
backoff until it is taken or ``alert_webhook_attempts`` runs out.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import Connection, Engine, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from postwarden.ledger.export import iso
from postwarden.ledger.models import DAILY_STATS, EVENTS, REPORT_ALERTS, TENANTS
from postwarden.reports.providers import OTHER, provider_for_domain, provider_label
from postwarden.reports.rollup import COUNTERS, recorded_providers
from postwarden.reports.stats import Counts, Lines
from postwarden.settings import Settings

log = logging.getLogger("postwarden.reports")

# How long one process's claim on an alert delivery lasts before another may try.
SEND_LEASE = timedelta(seconds=60)
SIGNATURE_HEADER = "X-Postwarden-Signature"
TIMESTAMP_HEADER = "X-Postwarden-Timestamp"


@dataclass(frozen=True)
class Alert:
    key: str
    kind: str  # complaint_rate, bounce_rate, sender_failures, blocklist
    level: str  # warning, critical
    message: str
    provider: str | None = None
    subject: str | None = None
    value: float | None = None
    threshold: float | None = None


def rate_alerts(day: date, provider: str, counts: Counts, lines: Lines, min_sent: int) -> list[Alert]:
    """A provider's day against the complaint and bounce lines (pure)."""
    if counts.sent < min_sent:
        return []
    found = []
    for kind, rate, pair, what in (("complaint_rate", counts.complaint_rate, lines.complaint, "complaint"),
                                   ("bounce_rate", counts.bounce_rate, lines.bounce, "bounce")):
        level = lines.level(rate, what)
        if level is None or rate is None:
            continue
        threshold = pair[1] if level == "critical" else pair[0]
        found.append(Alert(
            key=f"{kind}:{level}:{provider}:{day.isoformat()}", kind=kind, level=level, provider=provider,
            value=rate, threshold=threshold,
            message=f"{provider_label(provider)}: {what} rate {rate:.2%} on {day.isoformat()} is over "
                    f"the {threshold:.2%} line ({counts.sent} sent)"))
    return found


def burst_alert(provider: str, failures: int, since: datetime, minutes: int, limit: int) -> Alert | None:
    """A burst of sender-side failures at one provider (pure)."""
    if failures < limit:
        return None
    bucket = since.replace(minute=0, second=0, microsecond=0).isoformat(timespec="minutes")
    return Alert(key=f"sender_failures:{provider}:{bucket}", kind="sender_failures", level="critical",
                 provider=provider, value=float(failures), threshold=float(limit),
                 message=f"{provider_label(provider)}: {failures} sender-side failures (blocked, reputation, "
                         f"authentication) in the last {minutes} minutes")


def blocklist_alert(subject: str, zone: str, answer: str, day: date) -> Alert:
    return Alert(key=f"blocklist:{subject}:{zone}:{day.isoformat()}", kind="blocklist", level="critical",
                 subject=subject, message=f"{subject} is listed on {zone} ({answer})")


def raise_alerts(conn: Connection, tenant_id: int, alerts: Iterable[Alert], now: datetime,
                 settings: Settings) -> int:
    """Store alerts not raised before; how many were new."""
    rows = [{"tenant_id": tenant_id, "key": a.key[:300], "kind": a.kind, "level": a.level,
             "provider": a.provider, "subject": a.subject, "message": a.message, "value": a.value,
             "threshold": a.threshold, "raised_at": now,
             "notify_state": "pending" if settings.alert_webhook_url else "none",
             "notify_attempts": 0, "notify_next_at": now if settings.alert_webhook_url else None,
             "notify_error": None} for a in alerts]
    if not rows:
        return 0
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    new = 0
    for row in rows:
        done = conn.execute(insert(REPORT_ALERTS).values(**row)
                            .on_conflict_do_nothing(index_elements=["tenant_id", "key"]))
        new += done.rowcount
    return new


def evaluate(engine: Engine, settings: Settings, days: Iterable[tuple[int, date]], now: datetime) -> int:
    """Look for alert conditions on the given (tenant, day)s and in the last burst
    window; how many new alerts were raised."""
    lines = Lines.of(settings)
    by_tenant: defaultdict[int, set[date]] = defaultdict(set)
    for tenant_id, day in days:
        by_tenant[tenant_id].add(day)
    minutes = int(settings.report_burst_minutes)
    since = now - timedelta(minutes=minutes)
    raised = 0
    with engine.begin() as conn:
        for tenant_id, tenant_days in by_tenant.items():
            found: list[Alert] = []
            rows = conn.execute(select(DAILY_STATS.c.day, DAILY_STATS.c.provider,
                                       *(DAILY_STATS.c[c] for c in COUNTERS)).where(
                DAILY_STATS.c.tenant_id == tenant_id, DAILY_STATS.c.day.in_(sorted(tenant_days))))
            min_sent = int(settings.report_alert_min_sent)
            for day, provider, *values in rows:
                found += rate_alerts(day, provider, Counts(*values), lines, min_sent)
            raised += raise_alerts(conn, tenant_id, found, now, settings)
        bursts: defaultdict[tuple[int, str], int] = defaultdict(int)
        # Per tenant, so that the (tenant, disposition, occurred_at) index finds the rows.
        failures = conn.execute(
            select(EVENTS.c.tenant_id, EVENTS.c.address, func.count()).where(
                EVENTS.c.tenant_id.in_(sorted(by_tenant)), EVENTS.c.disposition == "alert",
                EVENTS.c.kind == "bounce", EVENTS.c.occurred_at >= since)
            .group_by(EVENTS.c.tenant_id, EVENTS.c.address)).all()
        known = recorded_providers(conn, (address.rpartition("@")[2] for _, address, _ in failures))
        for tenant_id, address, n in failures:
            domain = address.rpartition("@")[2]
            bursts[(tenant_id, known.get(domain) or provider_for_domain(domain) or OTHER)] += n
        for (tenant_id, provider), n in bursts.items():
            alert = burst_alert(provider, n, since, minutes, int(settings.report_burst_count))
            if alert is not None:
                raised += raise_alerts(conn, tenant_id, [alert], now, settings)
    return raised


def raise_for_all_tenants(engine: Engine, alerts: list[Alert], now: datetime, settings: Settings) -> int:
    """Instance-wide conditions (a sending IP on a blocklist) concern every tenant."""
    with engine.begin() as conn:
        tenants = list(conn.execute(select(TENANTS.c.id)).scalars())
        return sum(raise_alerts(conn, t, alerts, now, settings) for t in tenants)


def listed(engine: Engine, tenant_id: int, since: datetime | None = None, limit: int = 500) -> list[Any]:
    query = select(REPORT_ALERTS).where(REPORT_ALERTS.c.tenant_id == tenant_id)
    if since is not None:
        query = query.where(REPORT_ALERTS.c.raised_at >= since)
    with engine.connect() as conn:
        return list(conn.execute(query.order_by(REPORT_ALERTS.c.raised_at.desc(), REPORT_ALERTS.c.id.desc())
                                 .limit(limit)).all())


def alert_json(row: Any) -> dict[str, Any]:
    return {"id": row.id, "kind": row.kind, "level": row.level, "provider": row.provider,
            "subject": row.subject, "message": row.message, "value": row.value, "threshold": row.threshold,
            "raised_at": iso(row.raised_at), "notify_state": row.notify_state}


# ---- the webhook ---------------------------------------------------------------------

def sign(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>`` of HMAC-SHA256 over ``timestamp.body``: the timestamp is signed
    too, so a captured request cannot be replayed later with a fresh one."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    """For receivers (and tests): compare in constant time."""
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


Post = Callable[[str, bytes, dict[str, str]], int]


def _http_post(url: str, body: bytes, headers: dict[str, str]) -> int:
    return httpx.post(url, content=body, headers=headers, timeout=10).status_code


def deliver_pending(engine: Engine, settings: Settings, now: datetime, post: Post = _http_post) -> int:
    """Send due alerts to the webhook; how many were taken (2xx). Each is claimed
    first with a compare-and-set on its next-attempt time, so processes sharing the
    database never send the same attempt twice."""
    url, secret = str(settings.alert_webhook_url), str(settings.alert_webhook_secret)
    if not url:
        return 0
    with engine.connect() as conn:
        due = conn.execute(select(REPORT_ALERTS, TENANTS.c.name.label("tenant")).join(
            TENANTS, TENANTS.c.id == REPORT_ALERTS.c.tenant_id).where(
            REPORT_ALERTS.c.notify_state == "pending", REPORT_ALERTS.c.notify_next_at <= now)
            .order_by(REPORT_ALERTS.c.id).limit(100)).all()
    taken = 0
    for row in due:
        with engine.begin() as conn:
            claimed = conn.execute(update(REPORT_ALERTS).where(
                REPORT_ALERTS.c.id == row.id, REPORT_ALERTS.c.notify_state == "pending",
                REPORT_ALERTS.c.notify_next_at == row.notify_next_at,
            ).values(notify_next_at=now + SEND_LEASE)).rowcount
        if not claimed:
            continue
        body = json.dumps({"tenant": row.tenant, "alert": alert_json(row)}).encode()
        stamp = str(int(time.time()))
        headers = {"Content-Type": "application/json", TIMESTAMP_HEADER: stamp,
                   SIGNATURE_HEADER: sign(secret, stamp, body)}
        error: str | None
        try:
            status = post(url, body, headers)
            error = None if 200 <= status < 300 else f"HTTP {status}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        attempts = int(row.notify_attempts) + 1
        if error is None:
            values: dict[str, Any] = {"notify_state": "sent", "notify_next_at": None, "notify_error": None}
            taken += 1
        elif attempts >= int(settings.alert_webhook_attempts):
            values = {"notify_state": "failed", "notify_next_at": None, "notify_error": error}
            log.warning("alert webhook: giving up on alert %s after %d attempts: %s", row.id, attempts, error)
        else:
            wait = timedelta(seconds=float(settings.alert_webhook_retry_seconds) * 2 ** (attempts - 1))
            values = {"notify_next_at": now + wait, "notify_error": error}
        with engine.begin() as conn:
            conn.execute(update(REPORT_ALERTS).where(REPORT_ALERTS.c.id == row.id)
                         .values(notify_attempts=attempts, **values))
    return taken
