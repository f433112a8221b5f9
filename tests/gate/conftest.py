"""An aiosmtpd sink the relay tests use as the upstream MTA, and the message they send."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.servers import free_port


@dataclass
class Sink:
    """The upstream MTA: keeps what it accepts, refuses the addresses it is told to."""

    refuse: dict[str, str] = field(default_factory=dict)
    received: list[tuple[str, list[str], bytes]] = field(default_factory=list)

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          options: list[str]) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content
        assert isinstance(content, bytes)
        self.received.append((str(envelope.mail_from), list(envelope.rcpt_tos), content))
        return "250 2.0.0 queued"


@pytest.fixture
def sink() -> Iterator[tuple[Sink, int]]:
    handler = Sink(refuse={"gone@example.net": "550 5.1.1 <gone@example.net>: Recipient address rejected: "
                                                "User unknown in local recipient table"})
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


MESSAGE = b"""From: Shop News <news@sender.example>
To: readers@sender.example
Subject: Our winter offers
Date: Mon, 05 Jan 2026 12:00:00 +0000
Message-ID: <winter-1@sender.example>
X-Postwarden-Stream: marketing
X-Postwarden-Topic: newsletter
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

Warm coats are back. Read more at https://sender.example/coats
""".replace(b"\n", b"\r\n")


