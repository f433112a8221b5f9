"""A tenant's ledger filled the way a support desk meets it: a complaint with the
messages before it, a hard bounce from a typo, an unsubscribe, soft bounces, sender
alerts, feedback nobody could read. Written through the ledger's own API."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine

from postwarden.intake import spool
from postwarden.ledger import Feedback, Ledger
from postwarden.ledger.messages import SentMessage
from postwarden.ledger.service import utcnow
from postwarden.reports import alerts as report_alerts

COMPLAINER = "pat.morgan@example.org"
TYPO = "jon.baker@gmial.com"
UNSUBSCRIBED = "sam.lee@example.net"
SOFT = "full.box@example.com"

ARF = (b"From: fbl@feedback.example.org\r\nTo: fbl@bounce.localhost\r\nSubject: FW: Spring sale\r\n"
       b"MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=feedback-report; "
       b"boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\nThis is an abuse report.\r\n"
       b"--b1\r\nContent-Type: message/feedback-report\r\n\r\nFeedback-Type: abuse\r\n"
       b"User-Agent: ExampleFBL/1.0\r\nVersion: 1\r\nOriginal-Rcpt-To: pat.morgan@example.org\r\n"
       b"--b1--\r\n")
DSN = (b"From: MAILER-DAEMON@mx.gmial.com\r\nTo: bounces@bounce.localhost\r\n"
       b"Subject: Undelivered Mail Returned to Sender\r\n\r\n"
       b"<jon.baker@gmial.com>: host mx.gmial.com said: 550 5.1.1 <jon.baker@gmial.com>: "
       b"Recipient address rejected: User unknown in virtual mailbox table\r\n")
UNREADABLE = (b"From: postmaster@odd-mta.example\r\nTo: bounces@bounce.localhost\r\n"
              b"Subject: Delivery report\r\n\r\nSomething went wrong with a message you sent.\r\n")


@dataclass(frozen=True)
class Seeded:
    start: datetime
    bulk: list[str]


def seed(engine: Engine, tenant: str, *, bulk: int = 24) -> Seeded:
    ledger = Ledger(engine, tenant)
    # Three weeks ago, so that the alerts fall inside the alerts page's 30 days.
    start = (utcnow() - timedelta(days=21)).replace(hour=9, minute=30, second=0, microsecond=0)

    def at(days: float) -> datetime:
        return start + timedelta(days=days)

    ledger.record_messages([
        SentMessage("<welcome-1@shop.example>", COMPLAINER, "news@shop.example", "Welcome to Example Shop",
                    "transactional", sent_at=at(0)),
        SentMessage("<sale-7@shop.example>", COMPLAINER, "news@shop.example", "Spring sale: 20% off",
                    "marketing", sent_at=at(3)),
        SentMessage("<sale-8@shop.example>", COMPLAINER, "news@shop.example", "Last day of the sale",
                    "marketing", sent_at=at(4)),
        SentMessage("<order-2@shop.example>", TYPO, "orders@shop.example", "Your order #1042",
                    "transactional", sent_at=at(5)),
    ])
    ledger.apply_many([
        Feedback(COMPLAINER, "delivered", "relay", message_id="<welcome-1@shop.example>",
                 occurred_at=at(0.01)),
        Feedback(COMPLAINER, "delivered", "relay", message_id="<sale-7@shop.example>",
                 occurred_at=at(3.01)),
        Feedback(COMPLAINER, "complaint", "fbl:smtp", feedback_type="abuse",
                 message_id="<sale-7@shop.example>", occurred_at=at(3.4), raw=ARF),
        Feedback(TYPO, "bounce", "bounce:smtp", reason="userunknown", hard_bounce=True, status="5.1.1",
                 reply_code="550", diagnostic="550 5.1.1 <jon.baker@gmial.com>: Recipient address rejected: "
                 "User unknown in virtual mailbox table", remote_mta="mx.gmial.com",
                 message_id="<order-2@shop.example>", occurred_at=at(5.02), raw=DSN),
        Feedback(UNSUBSCRIBED, "unsubscribe", "list-unsubscribe", scope="newsletter", occurred_at=at(6)),
        *[Feedback(SOFT, "bounce", "bounce:smtp", reason="mailboxfull", hard_bounce=False, status="4.2.2",
                   reply_code="452", diagnostic="452 4.2.2 The email account that you tried to reach is "
                   "over quota", remote_mta="gmail-smtp-in.l.google.com", occurred_at=at(7 + n))
          for n in range(5)],
        Feedback("ana@gmail.com", "bounce", "bounce:smtp", reason="blocked", hard_bounce=False,
                 status="5.7.1", reply_code="550", remote_mta="gmail-smtp-in.l.google.com",
                 diagnostic="550 5.7.1 Our system has detected that this message is likely unsolicited "
                 "mail. To reduce the amount of spam sent to Gmail, this message has been blocked.",
                 occurred_at=at(9)),
        Feedback("lee@outlook.com", "bounce", "bounce:smtp", reason="badreputation", hard_bounce=False,
                 status="5.7.1", reply_code="550", remote_mta="outlook-com.olc.protection.outlook.com",
                 diagnostic="550 5.7.1 Unfortunately, messages from [192.0.2.7] weren't sent. Please "
                 "contact your Internet service provider since part of their network is on our block list "
                 "(S3150).", occurred_at=at(9.5)),
        Feedback("kim@yahoo.com", "bounce", "bounce:smtp", reason="authfailure", hard_bounce=False,
                 status="5.7.9", reply_code="554", remote_mta="mta7.am0.yahoodns.net",
                 diagnostic="554 5.7.9 Message not accepted for policy reasons.  See "
                 "https://senders.yahooinc.com/error-codes", occurred_at=at(10)),
    ])
    names = [f"customer{n:02d}@{domain}" for n, domain in
             zip(range(bulk), ["example.com", "mail.example.net", "corp.example"] * bulk, strict=False)]
    ledger.apply_many([
        Feedback(address, "bounce", "bounce:smtp", reason="userunknown" if n % 3 else "hostunknown",
                 hard_bounce=True, status="5.1.1" if n % 3 else "5.1.2", reply_code="550",
                 diagnostic="550 5.1.1 No such user" if n % 3 else "Host or domain name not found",
                 occurred_at=at(11 + n / 10))
        if n % 4 else
        Feedback(address, "unsubscribe", "list-unsubscribe", occurred_at=at(11 + n / 10))
        for n, address in enumerate(names)])
    ledger.suppress("legal-hold@example.com", "manual", note="asked by legal, ticket LEG-19",
                    actor="web:seed")
    spool.enqueue(engine, "smtp", {"mail_from": "postmaster@odd-mta.example",
                                   "rcpt_tos": ["bounces@bounce.localhost"]}, UNREADABLE, ledger.tenant_id,
                  state="unrecognised", result=json.dumps({
                      "kind": None, "outcomes": [], "notes": ["no decoder recognised this message"]}))
    with engine.begin() as conn:
        report_alerts.raise_alerts(conn, ledger.tenant_id, [
            report_alerts.blocklist_alert("192.0.2.7", "zen.spamhaus.org", "127.0.0.2", at(9).date())],
            at(9), ledger.settings)
    return Seeded(start, names)
