"""Alert conditions (pure), raising each once, and webhook delivery giving up."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select

from postwarden.ledger import Feedback, Ledger
from postwarden.ledger.messages import SentMessage
from postwarden.ledger.models import REPORT_ALERTS
from postwarden.reports import alerts
from postwarden.reports.service import Reports, ReportsTicker
from postwarden.reports.stats import Counts, Lines
from postwarden.settings import load
from tests.conftest import Clock
from tests.reports.conftest import SENDING_IP, report_settings
from tests.servers import free_port

LINES = Lines((0.001, 0.003), (0.05, 0.10))
DAY = date(2026, 1, 5)


def test_rate_alerts() -> None:
    quiet = Counts(sent=1000, hard_bounces=10)
    assert alerts.rate_alerts(DAY, "google", quiet, LINES, 200) == []
    bad = Counts(sent=1000, hard_bounces=60, complaints=4)
    found = {(a.kind, a.level) for a in alerts.rate_alerts(DAY, "google", bad, LINES, 200)}
    assert found == {("bounce_rate", "warning"), ("complaint_rate", "critical")}
    assert alerts.rate_alerts(DAY, "google", Counts(sent=100, hard_bounces=60), LINES, 200) == []


def test_burst_and_blocklist_alerts() -> None:
    at = datetime(2026, 1, 5, 10, 30)
    assert alerts.burst_alert("microsoft", 19, at, 60, 20) is None
    burst = alerts.burst_alert("microsoft", 25, at, 60, 20)
    assert burst is not None and burst.key == "sender_failures:microsoft:2026-01-05T10:00"
    listed = alerts.blocklist_alert("192.0.2.1", "zen.spamhaus.org", "127.0.0.2", DAY)
    assert "listed on zen.spamhaus.org" in listed.message


def test_signature() -> None:
    signature = alerts.sign("k", "1700000000", b"{}")
    assert signature.startswith("sha256=") and alerts.verify("k", "1700000000", b"{}", signature)
    assert not alerts.verify("k", "1700000001", b"{}", signature)


def test_a_burst_of_sender_side_failures_raises_one_alert(ledger: Ledger, clock: Clock) -> None:
    now = clock()
    ledger.record_messages([SentMessage(f"<b{n}@x>", f"b{n}@outlook.com", "s@x.example", "s", sent_at=now)
                            for n in range(25)])
    ledger.apply_many([Feedback(address=f"b{n}@outlook.com", kind="bounce", source="t", reason="blocked",
                                reply_code="550", status="5.7.1", occurred_at=now - timedelta(minutes=n),
                                diagnostic="550 5.7.1 Service unavailable, Client host [192.0.2.1] blocked "
                                           "using Spamhaus") for n in range(25)])
    reports = Reports.of(ledger)
    raised = [a for a in reports.alerts() if a.kind == "sender_failures"]
    assert [(a.provider, a.value) for a in raised] == [("microsoft", 25.0)]
    assert len([a for a in reports.alerts() if a.kind == "sender_failures"]) == 1   # not raised twice


def test_webhook_gives_up_after_its_attempts(ledger: Ledger, clock: Clock) -> None:
    settings = load(env={}, alert_webhook_url=f"http://127.0.0.1:{free_port()}/nobody",
                    alert_webhook_attempts=2, alert_webhook_retry_seconds=0.0)
    now = clock()
    listing = alerts.blocklist_alert("192.0.2.9", "z.test", "127.0.0.2", now.date())
    with ledger.engine.begin() as conn:
        alerts.raise_alerts(conn, ledger.tenant_id, [listing], now, settings)
    for _ in range(3):
        alerts.deliver_pending(ledger.engine, settings, now + timedelta(minutes=5))
    with ledger.engine.connect() as conn:
        row = conn.execute(select(REPORT_ALERTS).where(REPORT_ALERTS.c.tenant_id == ledger.tenant_id)).one()
    assert (row.notify_state, row.notify_attempts) == ("failed", 2)
    assert "ConnectError" in row.notify_error


def test_the_workers_blocklist_sweep_raises_a_listing_for_every_tenant(ledger: Ledger, report_dns: str,
                                                                        db_url: str) -> None:
    settings = report_settings(db_url, report_dns, blocklist_check_seconds=3600.0, report_rollup_seconds=0.0)
    ticker = ReportsTicker(ledger.engine, settings)
    ticker.tick()
    for thread in list(ticker._threads.values()):
        thread.join(timeout=30)
    listed = [a for a in Reports.of(ledger).alerts() if a.kind == "blocklist"]
    assert [(a.subject, a.level) for a in listed] == [(SENDING_IP, "critical")]
    assert "ip.bl.test" in listed[0].message
