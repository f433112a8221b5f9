"""The relay's refusals and limits, against a relay running in this process (the
end-to-end test runs the real command) and an aiosmtpd sink as the upstream."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import smtplib
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import Engine

from postwarden import settings as settings_mod
from postwarden.gate.relay import RateLimit, Reply, start_relay
from postwarden.ledger import Ledger
from postwarden.ledger.tenants import create_api_key
from tests.gate.conftest import MESSAGE, Sink
from tests.servers import free_port


class RelayThread:
    def __init__(self, engine: Engine, settings: settings_mod.Settings) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.server, self.handler = asyncio.run_coroutine_threadsafe(
            start_relay(engine, settings), self.loop).result(timeout=30)

    def stop(self) -> None:
        async def close() -> None:
            self.server.close()
            await self.server.wait_closed()

        asyncio.run_coroutine_threadsafe(close(), self.loop).result(timeout=10)
        self.handler.close()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)


@pytest.fixture
def relay_for(engine: Engine, sink: tuple[Sink, int]) -> Iterator[Any]:
    started: list[RelayThread] = []

    def make(**values: Any) -> int:
        port = free_port()
        settings = settings_mod.load(env={}).with_overrides(
            relay_port=port, relay_upstream=f"127.0.0.1:{sink[1]}", **values)
        started.append(RelayThread(engine, settings))
        return port

    yield make
    for relay in started:
        relay.stop()


def plain(subject: str = "Your receipt", body: str = "Thanks for your order.", extra: str = "") -> bytes:
    return (f"From: shop@sender.example\r\nTo: x@example.com\r\nSubject: {subject}\r\n{extra}\r\n"
            f"{body}\r\n").encode()


def test_reply_names_carry_their_codes() -> None:
    names = [name for name in vars(Reply) if name.isupper()]
    assert names
    for name in names:
        found = re.fullmatch(r".*_(\d{3})_(\d)_(\d)_(\d+)", name)
        assert found, name
        code, klass, subject, detail = found.groups()
        assert getattr(Reply, name).startswith(f"{code} {klass}.{subject}.{detail} "), name


def test_authentication_is_required_and_checked(relay_for: Any, tenant: str, engine: Engine) -> None:
    port = relay_for()
    with smtplib.SMTP("127.0.0.1", port) as client:
        client.ehlo()
        assert client.mail("shop@sender.example")[0] == 530
        with pytest.raises(smtplib.SMTPAuthenticationError):
            client.login(tenant, "not-a-key")
        other_key = create_api_key(engine, tenant, "x")
        with pytest.raises(smtplib.SMTPAuthenticationError):
            client.login("someone-else", other_key)  # a key of another tenant than the login names
        client.login(tenant, other_key)
        assert client.mail("shop@sender.example")[0] == 250


def test_loopback_tenant_sends_without_auth(relay_for: Any, tenant: str, sink: tuple[Sink, int]) -> None:
    port = relay_for(relay_loopback_tenant=tenant)
    with smtplib.SMTP("127.0.0.1", port) as client:
        assert client.sendmail("shop@sender.example", ["ann@example.com"], plain()) == {}
    assert sink[0].received[0][1] == ["ann@example.com"]


def test_outgoing_spam_is_refused_with_the_rules(relay_for: Any, tenant: str, sink: tuple[Sink, int]) -> None:
    port = relay_for(relay_loopback_tenant=tenant)
    phish = plain("URGENT ACCOUNT NOTICE", "Your account will be suspended. Confirm your password at "
                  "http://198.51.100.7/login", "Precedence: bulk\r\n")
    with smtplib.SMTP("127.0.0.1", port) as client, pytest.raises(smtplib.SMTPDataError) as refused:
        client.sendmail("shop@sender.example", ["ann@example.com"], phish)
    assert refused.value.smtp_code == 554
    assert b"5.7.1" in refused.value.smtp_error and b"URL_IP_LITERAL" in refused.value.smtp_error
    assert sink[0].received == []


def test_rate_limit_per_sender(relay_for: Any, tenant: str) -> None:
    port = relay_for(relay_loopback_tenant=tenant, relay_rate_per_minute=2)
    with smtplib.SMTP("127.0.0.1", port) as client:
        for _ in range(2):
            client.sendmail("shop@sender.example", ["ann@example.com"], plain())
        code, text = client.mail("shop@sender.example")
        assert code == 451 and text.startswith(b"4.7.1")
        client.rset()
        # Another sender has its own allowance.
        assert client.mail("billing@sender.example")[0] == 250


def test_token_bucket_refills() -> None:
    now = [0.0]
    limit = RateLimit(60, clock=lambda: now[0])
    assert all(limit.allow("a") for _ in range(60)) and not limit.allow("a")
    now[0] += 1.0
    assert limit.allow("a") and not limit.allow("a")


def test_upstream_refusals_are_returned_and_hard_ones_suppress(
        relay_for: Any, tenant: str, engine: Engine, sink: tuple[Sink, int]) -> None:
    sink[0].refuse["full@example.net"] = "452 4.2.2 Mailbox full, try again later"
    port = relay_for(relay_loopback_tenant=tenant)
    with smtplib.SMTP("127.0.0.1", port) as client:
        # Both pass our RCPT; the upstream refuses one at its own: 250 naming it.
        refused = client.sendmail("shop@sender.example", ["gone@example.net", "ann@example.com"],
                                  plain(extra="Message-ID: <r1@sender.example>\r\n"))
        assert refused == {}
        with pytest.raises(smtplib.SMTPDataError) as only_full:
            client.sendmail("shop@sender.example", ["full@example.net"], plain())
        # The SMTP-time reject suppressed the address: now it is refused at our RCPT.
        with pytest.raises(smtplib.SMTPRecipientsRefused) as gone:
            client.sendmail("shop@sender.example", ["gone@example.net"], plain())
    assert only_full.value.smtp_code == 452 and b"Mailbox full" in only_full.value.smtp_error
    code, text = gone.value.recipients["gone@example.net"]
    assert code == 550 and b"5.7.1" in text and b"hard_bounce" in text
    ledger = Ledger(engine, tenant, settings_mod.load(env={}))
    (message,) = ledger.messages_for("gone@example.net")
    assert (message.message_id, message.status, message.status_code) == (
        "r1@sender.example", "bounced", "550")
    (event,) = ledger.events_for("gone@example.net")
    assert event.source == "relay:upstream" and '"stage": "smtp"' in (event.details or "")
    assert [m.status for m in ledger.messages_for("ann@example.com")] == ["sent"]
    assert ledger.messages_for("full@example.net") == []


def test_the_history_keeps_subject_and_sender_as_people_read_them(
        relay_for: Any, tenant: str, engine: Engine, sink: tuple[Sink, int]) -> None:
    port = relay_for(relay_loopback_tenant=tenant)
    encoded = (b"From: =?utf-8?q?J=C3=BCrgen_Sch=C3=B6n?= <shop@sender.example>\r\nTo: x@example.com\r\n"
               b"Subject: =?utf-8?b?w5xiZXIgdW5zZXJlIEdlc2NoZW5rZQ==?=\r\n\r\nHallo.\r\n")
    broken = plain(subject="=?nonsense-charset?q?abc?= plain words")
    with smtplib.SMTP("127.0.0.1", port) as client:
        client.sendmail("shop@sender.example", ["ann@example.com"], encoded)
        client.sendmail("shop@sender.example", ["bob@example.com"], broken)
    ledger = Ledger(engine, tenant, settings_mod.load(env={}))
    (message,) = ledger.messages_for("ann@example.com")
    assert message.subject == "Über unsere Geschenke"
    assert message.sender == "Jürgen Schön <shop@sender.example>"
    # Words that cannot be decoded are kept as they came.
    assert ledger.messages_for("bob@example.com")[0].subject == "=?nonsense-charset?q?abc?= plain words"


def test_topic_unsubscribe_holds_the_recipient_back_at_data(
        relay_for: Any, tenant: str, engine: Engine, sink: tuple[Sink, int]) -> None:
    port = relay_for(relay_loopback_tenant=tenant)
    Ledger(engine, tenant, settings_mod.load(env={})).suppress("left@example.com", "unsubscribe",
                                                                scope="newsletter")
    with smtplib.SMTP("127.0.0.1", port) as client:
        client.sendmail("news@sender.example", ["left@example.com", "stay@example.com"], MESSAGE)
        with pytest.raises(smtplib.SMTPDataError) as nobody:
            client.sendmail("news@sender.example", ["left@example.com"], MESSAGE)
    assert [r for _, r, _ in sink[0].received] == [["stay@example.com"]]
    assert nobody.value.smtp_code == 550 and b"newsletter" in nobody.value.smtp_error


def test_bad_stream_header_is_refused(relay_for: Any, tenant: str) -> None:
    port = relay_for(relay_loopback_tenant=tenant)
    with smtplib.SMTP("127.0.0.1", port) as client, pytest.raises(smtplib.SMTPDataError) as bad:
        client.sendmail("a@sender.example", ["b@example.com"], plain(extra="X-Postwarden-Stream: promo\r\n"))
    assert bad.value.smtp_code == 554 and b"5.6.0" in bad.value.smtp_error


def test_upstream_down_is_a_temporary_failure(engine: Engine, tenant: str) -> None:
    port = free_port()
    settings = settings_mod.load(env={}).with_overrides(
        relay_port=port, relay_upstream=f"127.0.0.1:{free_port()}", relay_loopback_tenant=tenant)
    relay = RelayThread(engine, settings)
    try:
        with smtplib.SMTP("127.0.0.1", port) as client, pytest.raises(smtplib.SMTPDataError) as down:
            client.sendmail("a@sender.example", ["b@example.com"], plain())
        assert down.value.smtp_code == 451 and b"4.4.1" in down.value.smtp_error
    finally:
        relay.stop()


def _certificate(tmp_path: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "relay.test")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=1)).sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def test_starttls_then_auth(relay_for: Any, tenant: str, engine: Engine, tmp_path: Path,
                            sink: tuple[Sink, int]) -> None:
    cert, key = _certificate(tmp_path)
    port = relay_for(relay_tls_cert=str(cert), relay_tls_key=str(key))
    api_key = create_api_key(engine, tenant, "tls")
    with smtplib.SMTP("127.0.0.1", port) as client:
        client.ehlo()
        assert client.has_extn("starttls") and not client.has_extn("auth")  # no AUTH before TLS
        context = ssl.create_default_context()
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        client.starttls(context=context)
        client.ehlo()
        client.login(tenant, api_key)
        client.sendmail("shop@sender.example", ["ann@example.com"], plain())
    assert len(sink[0].received) == 1
