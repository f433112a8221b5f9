"""Reports through the HTTP API (a real server per backend), the command line (the
installed executable) and postwarden serve end to end: DMARC by mail to dmarc@,
an alert raised by the workers and POSTed, signed, to a webhook that fails once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import httpx
import pytest
from sqlalchemy import Engine

from postwarden.ledger import Feedback, Ledger
from postwarden.ledger.messages import SentMessage
from postwarden.ledger.service import utcnow
from postwarden.reports.alerts import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from postwarden.reports.service import Reports
from postwarden.settings import load
from tests.intake.test_smtp_intake import eventually
from tests.reports.conftest import SENDING_DOMAIN, SENDING_IP
from tests.reports.dmarc_samples import gzipped, in_email, report_xml
from tests.servers import free_port, start

POSTWARDEN = str(Path(sys.executable).with_name("postwarden"))


def _traffic(ledger: Ledger, sent: int = 250, bounced: int = 30, complaints: int = 2,
             domain: str = "gmail.com") -> None:
    """Today's mail to one provider: enough to count, bounce rate over the critical line."""
    now = utcnow() - timedelta(minutes=5)
    recipients = [f"r{n}@{domain}" for n in range(sent)]
    ledger.record_messages([SentMessage(f"<{n}@{SENDING_DOMAIN}>", r, f"news@{SENDING_DOMAIN}", "news",
                                        sent_at=now) for n, r in enumerate(recipients)])
    ledger.apply_many([Feedback(address=r, kind="bounce", source="test", reason="userunknown",
                                hard_bounce=True, reply_code="550", status="5.1.1", occurred_at=now,
                                diagnostic=f"550-5.1.1 The email account that you tried to reach does "
                                           f"not exist. {r} gsmtp", remote_mta="gmail-smtp-in.l.google.com")
                       for r in recipients[:bounced]])
    ledger.apply_many([Feedback(address=r, kind="complaint", source="test", feedback_type="abuse",
                                occurred_at=now) for r in recipients[bounced:bounced + complaints]])


def test_http_api(report_api: httpx.Client, ledger: Ledger) -> None:
    _traffic(ledger)
    stats = report_api.get("/v1/stats", params={"since": "2d"}).json()
    google = stats["providers"][0]
    total = google["total"]
    assert (google["provider"], total["sent"], total["hard_bounces"]) == ("google", 250, 30)
    assert google["total"]["bounce_level"] == "critical"
    assert len(google["days"]) == 3 and stats["lines"]["bounce_rate"] == [0.05, 0.1]
    assert report_api.get("/v1/stats", params={"provider": "nosuch"}).status_code == 422

    chart = report_api.get("/v1/stats/chart.svg", params={"provider": "google", "since": "10d"})
    assert chart.headers["content-type"] == "image/svg+xml" and "<svg" in chart.text

    assert report_api.post("/v1/remediation", json={"text": "Removed the purchased list",
                                                    "provider": "google"}).status_code == 201
    assert report_api.post("/v1/remediation", json={"text": "  "}).status_code == 422
    steps = report_api.get("/v1/remediation").json()["steps"]
    assert [(s["text"], s["provider"]) for s in steps] == [("Removed the purchased list", "google")]

    stored = report_api.post("/v1/dmarc", content=gzipped(report_xml(domain=SENDING_DOMAIN)))
    assert stored.status_code == 201 and stored.json() == {"stored": 1, "duplicates": 0, "records": 2}
    refused = report_api.post("/v1/dmarc", content=b"<!DOCTYPE x [<!ENTITY a 'b'>]><feedback/>")
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "dmarc_refused"
    sources = report_api.get("/v1/dmarc", params={"since": "3650d"}).json()["sources"]
    assert sources[0]["source_ip"] == "192.0.2.10" and sources[0]["messages"] == 120

    alerts = report_api.get("/v1/alerts").json()
    kinds = {(a["kind"], a["level"], a["provider"]) for a in alerts["report_alerts"]}
    assert ("bounce_rate", "critical", "google") in kinds
    assert "alerts" in alerts   # the per-event list is still there

    health = report_api.get(f"/v1/health/{SENDING_DOMAIN}", params={"ip": SENDING_IP}).json()
    assert health["spf"]["status"] == "ok" and health["dkim_status"] == "ok"
    assert health["dmarc"]["policy"] == "quarantine"
    assert [b["zone"] for b in health["blocklists"] if b["listed"]] == ["ip.bl.test"]

    page = report_api.get("/v1/dossier", params={"provider": "google", "since": "7d", "format": "html"})
    assert page.status_code == 200 and "Deliverability dossier: Google" in page.text
    assert "Removed the purchased list" in page.text and "<svg" in page.text
    assert "The email account that you tried to reach does not exist. &lt;address&gt; gsmtp" in page.text
    assert "LISTED" in page.text   # the sending IP on the test blocklist
    pdf = report_api.get("/v1/dossier", params={"provider": "google", "format": "pdf"})
    assert pdf.content.startswith(b"%PDF")
    md = report_api.get("/v1/dossier", params={"provider": "google", "format": "md"})
    assert md.text.startswith("# Deliverability dossier: Google")


@pytest.fixture
def cli(db_url: str, tenant: str, engine: Engine, report_dns: str):  # type: ignore[no-untyped-def]
    env = {**os.environ, "COLUMNS": "220", "POSTWARDEN_DNS_SERVERS": json.dumps([report_dns]),
           "POSTWARDEN_DNS_TIMEOUT": "1", "POSTWARDEN_DKIM_SELECTORS": '["s1"]',
           "POSTWARDEN_DNSBL_IP_ZONES": '["ip.bl.test"]', "POSTWARDEN_DNSBL_DOMAIN_ZONES": '["dom.bl.test"]'}

    def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([POSTWARDEN, "--database", db_url, "--tenant", tenant, *args], env=env,
                              capture_output=True, text=True, timeout=120, check=False, cwd=cwd)
    return run


def test_command_line(cli, ledger: Ledger, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _traffic(ledger, domain="hotmail.com")
    shown = cli("stats", "--since", "3d")
    assert shown.returncode == 0, shown.stderr
    assert "Microsoft" in shown.stdout and "250" in shown.stdout and "12.00%" in shown.stdout
    daily = json.loads(cli("stats", "--json", "--daily", "--provider", "microsoft").stdout)
    assert daily["providers"][0]["total"]["sent"] == 250

    added = cli("remediation", "add", "Removed the purchased-list segment", "--provider", "microsoft")
    assert added.returncode == 0
    assert cli("remediation", "add", "x", "--provider", "nosuch").returncode == 1
    listed = cli("remediation", "list")
    assert "Removed the purchased-list segment" in listed.stdout

    reports = tmp_path / "dmarc"
    reports.mkdir()
    (reports / "a.xml.gz").write_bytes(gzipped(report_xml("a", domain=SENDING_DOMAIN)))
    (reports / "b.eml").write_bytes(in_email(gzipped(report_xml("b", domain=SENDING_DOMAIN))))
    (reports / "bomb.gz").write_bytes(gzipped(b"<" + b" " * 30_000_000))
    imported = cli("import", "dmarc", str(reports))
    assert imported.returncode == 1   # one file refused, named, the rest stored
    assert "bomb.gz: refused" in imported.stderr and "2 report(s) stored" in imported.stderr
    assert "192.0.2.10" in cli("dmarc", "--since", "3650d").stdout

    health = cli("health", SENDING_DOMAIN, "--ip", SENDING_IP)
    assert health.returncode == 2   # listed on a blocklist
    assert "0 of 10 DNS lookups" in health.stdout
    assert "LISTED" in health.stdout
    assert "blocklist" in cli("alerts").stdout   # the listing raised a report alert

    for fmt in ("md", "html", "pdf"):
        made = cli("dossier", "--provider", "microsoft", "--since", "7d", "--format", fmt, cwd=tmp_path)
        assert made.returncode == 0, made.stderr
    written = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("dossier-"))
    assert written == sorted(f"dossier-microsoft-{utcnow():%Y-%m-%d}{end}"
                             for end in (".html", ".md", ".pdf", "-rates.png", "-steps.png"))
    assert cli("dossier", "--provider", "microsoft", "--format", "doc").returncode == 1


class _Receiver(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[dict[str, str], bytes]]] = []
    fail_first: ClassVar[bool] = True

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((dict(self.headers), body))
        failing = type(self).fail_first
        type(self).fail_first = False
        self.send_response(500 if failing else 204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def webhook() -> Iterator[tuple[str, type[_Receiver]]]:
    handler = type("Receiver", (_Receiver,), {"received": [], "fail_first": True})
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/hook", handler
    server.shutdown()


def test_serve_end_to_end(db_url: str, engine: Engine, tenant: str, tmp_path: Path, report_dns: str,
                          webhook: tuple[str, type[_Receiver]]) -> None:
    url, receiver = webhook
    server = start(db_url, tmp_path / "serve.log", tenant=tenant, extra_env={
        "POSTWARDEN_REPORT_ROLLUP_SECONDS": "0.2", "POSTWARDEN_ALERT_WEBHOOK_URL": url,
        "POSTWARDEN_ALERT_WEBHOOK_SECRET": "s3cret", "POSTWARDEN_ALERT_WEBHOOK_RETRY_SECONDS": "0.2",
        "POSTWARDEN_DNS_SERVERS": json.dumps([report_dns]), "POSTWARDEN_BLOCKLIST_CHECK_SECONDS": "0"})
    try:
        with server.smtp() as smtp:
            smtp.ehlo("reporter.example")
            smtp.sendmail("noreply-dmarc-support@google.com", ["dmarc@bounce.localhost"],
                          in_email(gzipped(report_xml("smtp-1", domain=SENDING_DOMAIN))))
        ledger = Ledger(engine, tenant, load(env={}))
        _traffic(ledger, domain="yahoo.com")

        def ids() -> list[int]:
            return [json.loads(body)["alert"]["id"] for _, body in receiver.received]

        def delivered() -> bool:
            # The first delivery got a 500: done once it was sent again, and the bounce
            # rate alert made it.
            sent = ids()
            return bool(sent) and sent.count(sent[0]) == 2 and any(
                json.loads(body)["alert"]["kind"] == "bounce_rate" for _, body in receiver.received[1:])
        eventually(delivered, seconds=30)
        headers, body = receiver.received[-1]
        assert verify("s3cret", headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER])
        assert not verify("other", headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER])
        assert json.loads(body)["tenant"] == tenant

        eventually(lambda: bool(Reports.of(ledger).dmarc_summary()), seconds=15)
        assert Reports.of(ledger).dmarc_summary()[0].messages == 120
    finally:
        server.stop()
