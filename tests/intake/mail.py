"""Feedback messages the intake tests send, built here rather than taken from any corpus."""

from __future__ import annotations

from email.utils import make_msgid


def dsn(recipient: str, *, status: str = "5.1.1", code: str = "550",
        text: str = "Recipient address rejected: User unknown in virtual mailbox table",
        to: str = "bounces@bounce.localhost", message_id: str | None = None,
        action: str = "failed") -> bytes:
    original_id = message_id or make_msgid(domain="shop.example")
    return f"""From: MAILER-DAEMON@mx.example.net (Mail Delivery System)
To: {to}
Subject: Undelivered Mail Returned to Sender
Date: Mon, 05 Jan 2026 12:00:00 +0000
Message-ID: {make_msgid(domain="mx.example.net")}
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="BOUNDARY"

--BOUNDARY
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.example.net.
I'm sorry to have to inform you that your message could not be delivered.

<{recipient}>: host mail.example.org[192.0.2.10] said: {code} {status} <{recipient}>: {text}

--BOUNDARY
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net
Arrival-Date: Mon, 05 Jan 2026 11:59:58 +0000

Final-Recipient: rfc822; {recipient}
Original-Recipient: rfc822;{recipient}
Action: {action}
Status: {status}
Remote-MTA: dns; mail.example.org
Diagnostic-Code: smtp; {code} {status} <{recipient}>: {text}

--BOUNDARY
Content-Type: text/rfc822-headers

From: news@shop.example
To: {recipient}
Subject: Our winter offers
Message-ID: {original_id}

--BOUNDARY--
""".replace("\n", "\r\n").encode()


def arf(recipient: str, *, feedback_type: str = "abuse", to: str = "fbl@bounce.localhost") -> bytes:
    return f"""From: staff@fbl.example.net
To: {to}
Subject: FW: Our winter offers
Date: Mon, 05 Jan 2026 12:00:00 +0000
Message-ID: {make_msgid(domain="fbl.example.net")}
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="B"

--B
Content-Type: text/plain

This is an email abuse report for an email message received from IP 192.0.2.55.

--B
Content-Type: message/feedback-report

Feedback-Type: {feedback_type}
User-Agent: ExampleFBL/1.0
Version: 1
Original-Mail-From: <news@shop.example>
Original-Rcpt-To: <{recipient}>
Source-IP: 192.0.2.55
Arrival-Date: Mon, 05 Jan 2026 11:00:00 +0000

--B
Content-Type: message/rfc822

From: news@shop.example
To: {recipient}
Subject: Our winter offers
Message-ID: {make_msgid(domain="shop.example")}

Buy now.
--B--
""".replace("\n", "\r\n").encode()


def plain(to: str, body: str = "Hello, is anyone there?") -> bytes:
    return (f"From: person@elsewhere.example\r\nTo: {to}\r\nSubject: question\r\n"
            f"Message-ID: {make_msgid(domain='elsewhere.example')}\r\n\r\n{body}\r\n").encode()
