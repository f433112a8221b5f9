"""``postwarden inbound``: an SMTP proxy in front of a mailbox store. Each message is
authenticated and classified per recipient (every user has their own rules and their
own layer of the model), gets ``Authentication-Results`` and ``X-Spam-*`` fields, and
is stored in that user's inbox or spam folder, or refused with 550 5.7.1 when every
recipient's rules ask for that.

Stores (``inbound_deliver``):

* ``maildir:PATH`` — ``PATH/<address>/`` is the user's Maildir, spam in its ``.Junk``
  folder (Maildir++), as Dovecot and Courier read it;
* ``smtp:HOST:PORT`` — handed on to the mail server behind, one transaction per
  recipient, which files by ``X-Spam-Folder``.

With several recipients, one SMTP reply covers them all: the message is refused only
when every recipient asked for refusal; recipients whose rules refuse it while others
take it get it in their spam folder, since a message accepted must not vanish. Over
LMTP (``inbound_lmtp``) each recipient gets a reply of their own, so each refusal is
exactly that user's.
"""

from __future__ import annotations

import asyncio
import logging
import mailbox as maildir
import smtplib
from pathlib import Path
from typing import Any, AnyStr, Protocol

from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import Engine

from postwarden.errors import InvalidInput
from postwarden.mailbox.auth import Envelope as SmtpEnvelope
from postwarden.mailbox.service import Delivery, Mailbox, mailbox_key
from postwarden.mailbox.verdict import Action
from postwarden.settings import Settings

log = logging.getLogger("postwarden.mailbox.inbound")


class Reply:
    """Replies we send, each name ending in its reply code and enhanced status code."""

    RECIPIENT_OK_250_2_1_5 = "250 2.1.5 Recipient ok"
    DELIVERED_250_2_0_0 = "250 2.0.0 Ok: delivered to {}"
    NOT_OUR_DOMAIN_550_5_7_1 = "550 5.7.1 <{}>: relaying denied"
    BAD_MAILBOX_550_5_1_3 = "550 5.1.3 <{}>: not a mailbox address"
    REFUSED_550_5_7_1 = "550 5.7.1 Message refused: the recipient does not accept mail from this sender"
    NO_VALID_RECIPIENTS_554_5_5_1 = "554 5.5.1 No valid recipients"
    TRY_AGAIN_451_4_3_0 = "451 4.3.0 Temporary failure delivering the message: please try again later"
    TOO_BIG_552_5_3_4 = "552 5.3.4 Message too big: this server takes at most {} bytes"


class Store(Protocol):
    def deliver(self, mailbox: str, delivery: Delivery) -> None:
        """Keep ``delivery.message`` in ``mailbox``'s ``delivery.folder``; raise to refuse."""


class MaildirStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def deliver(self, mailbox: str, delivery: Delivery) -> None:
        # an address may hold '/' or start with '.': neither may lead outside the root
        name = mailbox.replace("/", "_").replace("\\", "_").lstrip(".")
        self.root.mkdir(parents=True, exist_ok=True)
        box = maildir.Maildir(self.root / name, create=True)
        if delivery.folder == "spam":
            box = box.get_folder("Junk") if "Junk" in box.list_folders() else box.add_folder("Junk")
        box.add(delivery.message)


class SmtpStore:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port

    def deliver(self, mailbox: str, delivery: Delivery) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=60) as smtp:
            smtp.sendmail("", [mailbox], delivery.message)


def make_store(spec: str) -> Store:
    kind, _, rest = spec.partition(":")
    if kind == "maildir" and rest:
        return MaildirStore(Path(rest))
    if kind == "smtp" and rest:
        host, _, port = rest.rpartition(":")
        if host and port.isdigit():
            return SmtpStore(host, int(port))
    raise InvalidInput(f"inbound_deliver must be 'maildir:PATH' or 'smtp:HOST:PORT', not {spec!r}")


class InboundHandler:
    def __init__(self, mailbox: Mailbox, store: Store, domains: list[str], lmtp: bool = False) -> None:
        self.mailbox = mailbox
        self.store = store
        self.lmtp = lmtp
        self.domains = {d.lower().rstrip(".") for d in domains}

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:
        try:
            key = mailbox_key(address)
        except InvalidInput:
            return Reply.BAD_MAILBOX_550_5_1_3.format(address)
        if self.domains and key.rpartition("@")[2] not in self.domains:
            return Reply.NOT_OUR_DOMAIN_550_5_7_1.format(address)
        envelope.rcpt_tos.append(key)
        return Reply.RECIPIENT_OK_250_2_1_5

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if not envelope.rcpt_tos:
            return Reply.NO_VALID_RECIPIENTS_554_5_5_1
        raw = envelope.original_content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        smtp_envelope = SmtpEnvelope(client_ip=str(session.peer[0]) if session.peer else None,
                                     helo=session.host_name or "", mail_from=envelope.mail_from or "")
        return await asyncio.to_thread(self._deliver, raw, smtp_envelope, list(envelope.rcpt_tos))

    def _deliver(self, raw: bytes, envelope: SmtpEnvelope, recipients: list[str]) -> str:
        deliveries = [(r, self.mailbox.receive(raw, envelope, r)) for r in recipients]
        if self.lmtp:
            return "\r\n".join(self._one(r, d) for r, d in deliveries)
        if all(d.verdict.action is Action.REJECT for _, d in deliveries):
            log.info("inbound: refused mail from %s for %s", envelope.mail_from, recipients)
            return Reply.REFUSED_550_5_7_1
        for recipient, delivery in deliveries:
            self.store.deliver(recipient, delivery)
        folders = ", ".join(f"{r} ({d.folder})" for r, d in deliveries)
        return Reply.DELIVERED_250_2_0_0.format(folders)

    def _one(self, recipient: str, delivery: Delivery) -> str:
        """LMTP's reply for one recipient (RFC 2033: one reply per accepted RCPT)."""
        if delivery.verdict.action is Action.REJECT:
            return Reply.REFUSED_550_5_7_1
        try:
            self.store.deliver(recipient, delivery)
        except Exception:
            log.exception("inbound: could not store a message for %s", recipient)
            return Reply.TRY_AGAIN_451_4_3_0
        return Reply.DELIVERED_250_2_0_0.format(f"{recipient} ({delivery.folder})")

    async def handle_exception(self, error: Exception) -> str:
        """One client's bad input never takes the server down; the sender may retry."""
        log.exception("inbound: error in an SMTP session", exc_info=error)
        return Reply.TRY_AGAIN_451_4_3_0


class InboundSMTP(SMTP):
    async def push(self, status: AnyStr) -> None:
        text = status.decode() if isinstance(status, bytes) else status
        if text.startswith("552 Error: Too much mail data"):
            text = Reply.TOO_BIG_552_5_3_4.format(self.data_size_limit)
        await super().push(text)


class InboundLMTP(LMTP, InboundSMTP):
    """LMTP (RFC 2033) in front of a mail store: the DATA reply is one line per recipient,
    so each user's refusal is their own."""


async def start_server(engine: Engine, settings: Settings, *, host: str | None = None,
                       port: int | None = None, mailbox: Mailbox | None = None) -> asyncio.AbstractServer:
    mailbox = mailbox or Mailbox(engine, str(settings.inbound_tenant), settings)
    store = make_store(str(settings.inbound_deliver))
    lmtp = bool(settings.inbound_lmtp)
    handler = InboundHandler(mailbox, store, list(settings.inbound_domains), lmtp)
    size = int(settings.inbound_max_message_size)
    loop = asyncio.get_running_loop()
    server_kw: dict[str, Any] = {"data_size_limit": size, "decode_data": False, "enable_SMTPUTF8": True,
                                 "ident": "postwarden inbound", "hostname": str(settings.mailbox_authserv_id)}
    protocol = InboundLMTP if lmtp else InboundSMTP
    return await loop.create_server(lambda: protocol(handler, **server_kw),
                                    host=host or str(settings.inbound_host),
                                    port=int(settings.inbound_port if port is None else port))
