"""The relay end to end: a client sends through `postwarden relay` (a real process) to
an aiosmtpd sink the test runs as the upstream; suppressed recipients get 550 5.7.1 at
RCPT, the others arrive signed and with their headers, the message history follows
the bounce that comes back through the SMTP intake."""

from __future__ import annotations

import base64
import os
import smtplib
import subprocess
import time
from collections.abc import Callable
from email import message_from_bytes
from pathlib import Path

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import Engine

from postwarden import settings as settings_mod
from postwarden.gate.contact import contact_card
from postwarden.ledger import Ledger
from postwarden.ledger.secrets import token_key
from postwarden.ledger.tenants import create_api_key
from postwarden.resolver import make_resolver
from postwarden.settings import Settings
from postwarden.tokens import verp_decode
from tests.dnsserver import dns_server
from tests.gate.conftest import MESSAGE, Sink
from tests.intake import mail
from tests.servers import POSTWARDEN, free_port, start


def eventually(check: Callable[[], bool], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


def start_relay(db_url: str, tmp_path: Path, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    log = (tmp_path / "relay.log").open("ab")
    process = subprocess.Popen([POSTWARDEN, "--database", db_url, "relay", "--port", str(port)],
                               stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **env})
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, (tmp_path / "relay.log").read_text()
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=2) as probe:
                probe.noop()
            return process, port
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("relay did not start: " + (tmp_path / "relay.log").read_text())


@pytest.fixture
def dkim_key(tmp_path: Path) -> tuple[Path, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path / "dkim.pem"
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    public = key.public_key().public_bytes(serialization.Encoding.DER,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    return path, base64.b64encode(public).decode()


@pytest.mark.slow
def test_relay_end_to_end(db_url: str, engine: Engine, tenant: str, tmp_path: Path,
                          sink: tuple[Sink, int], dkim_key: tuple[Path, str]) -> None:
    upstream, upstream_port = sink
    key_path, public_key = dkim_key
    ledger = Ledger(engine, tenant, settings_mod.load(env={}))
    ledger.suppress("blocked@example.org", "complaint", note="clicked spam")
    api_key = create_api_key(engine, tenant, "relay")
    value = f"v=DKIM1; k=rsa; p={public_key}"
    # A TXT string holds at most 255 octets; longer records are split into several.
    chunks = " ".join(f'"{value[i:i + 255]}"' for i in range(0, len(value), 255))
    records = [("postwarden._domainkey.sender.example", "TXT", chunks)]
    with dns_server(records) as (_, name_server):
        intake = start(db_url, tmp_path / "serve.log", tenant=tenant)
        relay, port = start_relay(db_url, tmp_path, {
            "POSTWARDEN_RELAY_UPSTREAM": f"127.0.0.1:{upstream_port}",
            "POSTWARDEN_DKIM_DOMAIN": "sender.example", "POSTWARDEN_DKIM_PRIVATE_KEY": str(key_path),
            "POSTWARDEN_PUBLIC_URL": intake.http})
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
                client.ehlo("app.sender.example")
                client.login(tenant, api_key)
                refused = client.sendmail("news@sender.example",
                                          ["reader@example.com", "blocked@example.org"], MESSAGE)
            code, text = refused["blocked@example.org"]
            assert code == 550 and text.startswith(b"5.7.1") and b"complaint" in text

            (envelope_from, rcpts, data) = upstream.received[0]
            assert len(upstream.received) == 1 and rcpts == ["reader@example.com"]
            key = token_key(engine, settings_mod.load(env={}))
            assert verp_decode(key, envelope_from, local="bounces").recipient == "reader@example.com"
            sent = message_from_bytes(data)
            assert sent["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
            assert f"{intake.http}/u/" in sent["List-Unsubscribe"]
            assert sent["X-Postwarden-Topic"] is None and sent["X-Postwarden-Stream"] is None
            signature = sent["DKIM-Signature"].replace("\r\n", "").replace(" ", "")
            assert "list-unsubscribe" in signature.lower() and "d=sender.example" in signature
            resolver = make_resolver(Settings({"dns_servers": [name_server]}))

            def txt(name: bytes, timeout: int = 5) -> bytes:
                answer = resolver.resolve(name.decode().rstrip("."), "TXT")
                return b"".join(b"".join(r.strings) for r in answer)

            assert dkim.verify(data, dnsfunc=txt)

            card = contact_card(ledger, "reader@example.com")
            assert [(m["message_id"], m["status"], m["stream"], m["scope"]) for m in card["messages"]] == [
                ("winter-1@sender.example", "sent", "marketing", "newsletter")]

            # The recipient's server bounces later; the DSN comes back to the VERP address.
            bounce = mail.dsn("reader@example.com", message_id="<winter-1@sender.example>", to=envelope_from)
            with intake.smtp() as smtp:
                smtp.sendmail("", [envelope_from], bounce)
            eventually(lambda: ledger.messages_for("reader@example.com")[0].status == "bounced")
            assert ledger.check(["reader@example.com"])[0].verdict == "suppressed"
        finally:
            relay.terminate()
            relay.wait(timeout=10)
            intake.stop()
