"""The SMTP feedback intake. It takes mail only for the feedback addresses (see
:mod:`postwarden.intake.routing`) and answers 250 only once the message is committed
to the spool; a failed commit is a 451, so the sender keeps the message and retries."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, AnyStr

from aiosmtpd.smtp import SMTP, Envelope, Session

from postwarden import settings as settings_mod
from postwarden.intake import spool
from postwarden.intake.routing import route

log = logging.getLogger("postwarden.intake.smtp")


class Reply:
    """Replies we send, each name ending in its reply code and enhanced status code."""

    RECIPIENT_OK_250_2_1_5 = "250 2.1.5 Recipient ok"
    QUEUED_250_2_0_0 = "250 2.0.0 Ok: queued as {}"
    NOT_A_FEEDBACK_ADDRESS_550_5_1_1 = ("550 5.1.1 <{}>: this server takes only bounces, "
                                        "complaints and unsubscribes for its own addresses; "
                                        "relaying denied")
    TRY_AGAIN_451_4_3_0 = "451 4.3.0 Temporary failure storing the message: please try again later"
    NO_VALID_RECIPIENTS_554_5_5_1 = "554 5.5.1 No valid recipients"
    TOO_BIG_552_5_3_4 = "552 5.3.4 Message too big: this intake takes at most {} bytes"


class FeedbackHandler:
    def __init__(self, writer: spool.SpoolWriter, settings: settings_mod.Settings,
                 on_stored: Any = None) -> None:
        self.writer = writer
        self.domain = str(settings.intake_domain)
        self.on_stored = on_stored

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:
        if route(address, self.domain) is None:
            return Reply.NOT_A_FEEDBACK_ADDRESS_550_5_1_1.format(address)
        envelope.rcpt_tos.append(address)
        return Reply.RECIPIENT_OK_250_2_1_5

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if not envelope.rcpt_tos:
            return Reply.NO_VALID_RECIPIENTS_554_5_5_1
        raw = envelope.original_content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        meta = {"mail_from": envelope.mail_from, "rcpt_tos": list(envelope.rcpt_tos),
                "peer": str(session.peer[0]) if session.peer else None,
                "helo": session.host_name}
        try:
            entry_id = await asyncio.wrap_future(self.writer.submit("smtp", meta, raw))
        except Exception:
            log.exception("intake: could not store a message from %s", meta["peer"])
            return Reply.TRY_AGAIN_451_4_3_0
        if self.on_stored is not None:
            self.on_stored()
        return Reply.QUEUED_250_2_0_0.format(entry_id)

    async def handle_exception(self, error: Exception) -> str:
        """One client's bad input never takes the server down; the sender may retry."""
        log.exception("intake: error in an SMTP session", exc_info=error)
        return Reply.TRY_AGAIN_451_4_3_0


class IntakeSMTP(SMTP):
    """Bounce generators do not all keep to RFC 5321's 1,000-octet lines (long base64
    and header lines are common), and refusing feedback for its line length would lose
    it: take long lines, bounded by the message size limit. aiosmtpd's own over-size
    reply carries no enhanced status code; ours does."""

    line_length_limit = 1 << 20

    async def push(self, status: AnyStr) -> None:
        text = status.decode() if isinstance(status, bytes) else status
        if text.startswith("552 Error: Too much mail data"):
            text = Reply.TOO_BIG_552_5_3_4.format(self.data_size_limit)
        await super().push(text)


async def start_server(writer: spool.SpoolWriter, settings: settings_mod.Settings,
                       on_stored: Any = None) -> asyncio.AbstractServer:
    handler = FeedbackHandler(writer, settings, on_stored)
    loop = asyncio.get_running_loop()
    size = int(settings.smtp_max_message_size)
    return await loop.create_server(
        # decode_data=False keeps the raw bytes exactly as received, for evidence.
        lambda: IntakeSMTP(handler, data_size_limit=size, decode_data=False, enable_SMTPUTF8=True,
                           ident="postwarden feedback intake", hostname=str(settings.intake_domain)),
        host=str(settings.smtp_host), port=int(settings.smtp_port))
