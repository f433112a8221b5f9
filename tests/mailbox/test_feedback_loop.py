"""The complaint loop closed end to end: a user's spam click (with consent) becomes an
ARF report with the recipient redacted, sent through SMTP to the sending domain's
feedback address, which is postwarden's own intake (a real `postwarden serve`); the
intake finds the recipient from the VERP return path and suppresses them as a
complaint."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from postwarden import settings as settings_mod
from postwarden.ledger import Ledger
from postwarden.ledger.secrets import token_key
from postwarden.mailbox.feedback import Complaint, arf_report
from postwarden.mailbox.service import Mailbox
from postwarden.parse import parse_message
from postwarden.tokens import verp_encode
from tests.dnsserver import dns_server
from tests.mailbox.mails import message
from tests.servers import Server, start

ALICE = "alice@example.org"


@pytest.fixture
def server(db_url: str, tenant: str, tmp_path: Path) -> Iterator[Server]:
    running = start(db_url, tmp_path / "serve.log", tenant=tenant)
    yield running
    running.stop()


def eventually(check: Callable[[], bool], seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


def newsletter(return_path: str) -> bytes:
    return message(sender="news@shop.example", to=ALICE, subject="Flash sale, today only",
                   body="Everything must go. Buy now at http://shop.example/sale",
                   extra_headers=f"Return-Path: <{return_path}>\n")


def test_report_redacts_the_recipient_and_reads_as_a_complaint() -> None:
    raw = newsletter("bounces@shop.example").replace(b"Subject:", b"Cc: Alice <ALICE@example.org>\nSubject:")
    complaint = Complaint(ALICE, "shop.example", "192.0.2.10", "bounces@shop.example",
                          "abuse@mail.example.org")
    report = arf_report(raw, complaint, "fbl@shop.example")
    assert b"alice@" not in report.lower()
    assert b"Original-Rcpt-To: <*redacted*@example.org>" in report
    parsed = parse_message(report)
    assert parsed.kind == "complaint" and parsed.complaint is not None
    assert parsed.complaint.feedback_type == "abuse" and parsed.complaint.reported_domain == "shop.example"
    assert parsed.complaint.source_ip == "192.0.2.10"


def test_spam_click_reaches_the_senders_intake_and_suppresses(engine: Engine, tenant: str,
                                                              server: Server) -> None:
    settings = settings_mod.load(env={})
    ledger = Ledger(engine, tenant, settings)
    return_path = verp_encode(token_key(engine, settings), ledger.tenant_id, ALICE, "<1@shop.example>",
                              local="bounces", domain=str(settings.intake_domain))
    with dns_server([]) as (_, dns):
        box = Mailbox(engine, tenant, settings.with_overrides(
            dns_servers=[dns], dns_timeout=1.0, mailbox_model_bits=16,
            mailbox_smtp_upstream=f"127.0.0.1:{server.smtp_port}",
            mailbox_report_from="abuse@mail.example.org"))
        box.db.set_feedback_address("shop.example", f"fbl@{settings.intake_domain}")
        raw = newsletter(return_path)
        asked = box.report_spam(raw, ALICE)
        assert asked.consent_question and not asked.reports  # nothing leaves without consent
        sent = box.report_spam(raw, ALICE, share=True)
    assert [r["outcome"] for r in sent.reports] == ["sent"], sent.reports
    assert box.db.reports(ALICE)[0]["feedback_address"] == f"fbl@{settings.intake_domain}"
    eventually(lambda: ledger.check([ALICE])[0].verdict == "suppressed")
    assert ledger.check([ALICE])[0].reason_class == "complaint"
