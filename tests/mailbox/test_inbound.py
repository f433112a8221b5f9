"""`postwarden inbound` over real sockets: SMTP in, Maildir out, per-recipient verdicts,
refusal for recipients who asked for it, and a server that outlives bad input."""

from __future__ import annotations

import asyncio
import mailbox as maildir
import smtplib
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from postwarden import settings as settings_mod
from postwarden.mailbox import inbound
from postwarden.mailbox.inbound import Reply
from postwarden.mailbox.service import Mailbox
from tests.dnsserver import dns_server
from tests.mailbox.mails import ham, spam
from tests.mailbox.signing import key_pair, sign
from tests.servers import free_port

ALICE = "alice@example.org"
BOB = "bob@example.org"


class Running:
    def __init__(self, port: int, box: Mailbox, root: Path) -> None:
        self.port, self.box, self.root = port, box, root

    def folder(self, user: str, junk: bool = False) -> list[bytes]:
        box = maildir.Maildir(self.root / user, create=False)
        if junk:
            if "Junk" not in box.list_folders():
                return []
            box = box.get_folder("Junk")
        return [bytes(m.as_bytes()) for m in box]

    def send(self, rcpts: list[str], message: bytes,
             mail_from: str = "sender@shop.example") -> tuple[int, bytes]:
        with smtplib.SMTP("127.0.0.1", self.port, timeout=30) as smtp:
            smtp.ehlo("mail.shop.example")
            smtp.mail(mail_from)
            for rcpt in rcpts:
                code, text = smtp.rcpt(rcpt)
                if code != 250:
                    return code, text
            return smtp.data(message)


@pytest.fixture
def running(engine: Engine, tenant: str, tmp_path: Path) -> Iterator[Running]:
    yield from serve(engine, tenant, tmp_path, lmtp=False)


@pytest.fixture
def running_lmtp(engine: Engine, tenant: str, tmp_path: Path) -> Iterator[Running]:
    yield from serve(engine, tenant, tmp_path, lmtp=True)


def serve(engine: Engine, tenant: str, tmp_path: Path, lmtp: bool) -> Iterator[Running]:
    _, dkim_txt = key_pair()
    records = [("shop.example", "TXT", '"v=spf1 ip4:127.0.0.1 -all"'),
               ("s1._domainkey.shop.example", "TXT", dkim_txt),
               ("_dmarc.shop.example", "TXT", '"v=DMARC1; p=reject"')]
    with dns_server(records) as (_, dns):
        settings = settings_mod.load(env={}, dns_servers=[dns], dns_timeout=1.0, mailbox_model_bits=18,
                                     inbound_deliver=f"maildir:{tmp_path / 'mail'}",
                                     inbound_domains=["example.org"], inbound_tenant=tenant,
                                     inbound_lmtp=lmtp)
        box = Mailbox(engine, tenant, settings)
        port = free_port()
        loop = asyncio.new_event_loop()
        server = loop.run_until_complete(inbound.start_server(engine, settings, port=port, mailbox=box))
        thread = threading.Thread(target=loop.run_forever, daemon=True)
        thread.start()
        try:
            yield Running(port, box, tmp_path / "mail")
        finally:
            loop.call_soon_threadsafe(server.close)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(10)


def test_reply_constants_carry_their_codes() -> None:
    for name, text in vars(Reply).items():
        if name.isupper():
            *_, code, cls, subject, detail = name.split("_")
            assert text.startswith(f"{code} {cls}.{subject}.{detail} ")


def test_delivers_per_recipient_with_verdict_and_authentication(running: Running) -> None:
    for i in range(8):
        running.box.report_spam(spam(i), ALICE)
        running.box.report_not_spam(ham(i), ALICE)
    signed = sign(ham(100).replace(b"dev2@lists.example.org", b"news@shop.example"), "shop.example")
    code, text = running.send([ALICE, BOB], signed)
    assert code == 250 and b"2.0.0" in text
    stored = running.folder(ALICE)
    assert len(stored) == 1 and b"X-Spam-Verdict: inbox" in stored[0]
    assert b"spf=pass" in stored[0] and b"dkim=pass header.d=shop.example" in stored[0]
    assert b"dmarc=pass" in stored[0] and b"Received-SPF: pass client-ip=127.0.0.1" in stored[0]
    code, _ = running.send([ALICE, BOB], spam(100))
    assert code == 250
    junk = running.folder(ALICE, junk=True)
    assert len(junk) == 1 and b"X-Spam-Flag: YES" in junk[0] and b"X-Spam-Reasons: " in junk[0]
    # Bob has clicked nothing himself: he gets the global model's opinion, undiluted
    bobs = running.folder(BOB, junk=True)
    assert len(bobs) == 1 and b"X-Spam-Verdict: spam" in bobs[0]
    # a click with the stored copy (LF line ends) is recognised: the same click again is a no-op
    stored = junk[0]
    assert b"\r\n" not in stored and running.box.report_not_spam(stored, ALICE).learned
    assert not running.box.report_not_spam(stored.replace(b"\n", b"\r\n"), ALICE).learned


def test_refuses_only_when_every_recipient_asked(running: Running) -> None:
    running.box.add_rule(ALICE, "block", "domain", "shop.example", "reject")
    code, text = running.send([ALICE], ham(1))
    assert code == 550 and b"5.7.1" in text
    assert not (running.root / ALICE).exists()
    code, _ = running.send([ALICE, BOB], ham(2))
    assert code == 250
    assert len(running.folder(ALICE, junk=True)) == 1  # accepted for Bob: Alice's copy goes to spam
    assert len(running.folder(BOB)) == 1


def test_relaying_and_bad_input_do_not_stop_the_server(running: Running) -> None:
    code, text = running.send(["someone@elsewhere.example"], ham(1))
    assert code == 550 and b"relaying denied" in text
    code, _ = running.send([ALICE], b"\x00\xff garbage \r\n\r\n\x80" * 100)
    assert code == 250
    code, _ = running.send([ALICE], ham(3))
    assert code == 250 and len(running.folder(ALICE)) + len(running.folder(ALICE, junk=True)) == 2


def test_lmtp_answers_each_recipient(running_lmtp: Running) -> None:
    running_lmtp.box.add_rule(ALICE, "block", "domain", "lists.example.org", "reject")
    with socket.create_connection(("127.0.0.1", running_lmtp.port), timeout=30) as sock:
        reader = sock.makefile("rb")

        def say(line: bytes) -> bytes:
            sock.sendall(line + b"\r\n")
            return reader.readline()

        assert reader.readline().startswith(b"220")
        sock.sendall(b"LHLO client.example\r\n")
        while not reader.readline().startswith(b"250 "):
            pass
        assert say(b"MAIL FROM:<dev1@lists.example.org>").startswith(b"250")
        assert say(b"RCPT TO:<alice@example.org>").startswith(b"250")
        assert say(b"RCPT TO:<bob@example.org>").startswith(b"250")
        assert say(b"DATA").startswith(b"354")
        sock.sendall(ham(7).replace(b"\n", b"\r\n") + b".\r\n")
        replies = [reader.readline(), reader.readline()]
    assert replies[0].startswith(b"550 5.7.1") and replies[1].startswith(b"250 2.0.0")
    assert not (running_lmtp.root / ALICE).exists() and len(running_lmtp.folder(BOB)) == 1
