"""The one interface every format decoder implements.

A decoder is a module in :mod:`postwarden.parse.decoders` that defines:

``NAME: str``
    A unique name (a duplicate is an error when the registry loads).
``PRIORITY: int``
    Lower runs first. Provider- and MTA-specific decoders run before the
    generic ones (RFC 3464 at 800, the plain-text fallback last).
``decode(msg: Message) -> Decoded | None``
    Look at one message and return what happened to whom, or ``None`` for "not
    my format". It must never raise on input it does not understand, must be
    quick to say ``None`` (check a header or a marker before scanning), and
    leaves reasons to the classifier unless the format itself says (an ARF
    report is ``feedback``, an auto-reply is ``vacation``).

Decoders return :class:`Finding` drafts; the engine fills in what they leave
out (status and reply code from the diagnostic, the reason, hard_bounce).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from postwarden.parse.message import Message
from postwarden.parse.mime import Headers
from postwarden.parse.model import ComplaintReport


@dataclass
class Finding:
    """A draft delivery-status record as a decoder found it."""

    recipient: str | None = None
    original_recipient: str | None = None
    action: str | None = None
    status: str | None = None
    reply_code: str | None = None
    diagnostic: str | None = None
    remote_mta: str | None = None
    reporting_mta: str | None = None
    arrival_date: str | None = None
    last_attempt_date: str | None = None
    feedback_type: str | None = None
    reason: str | None = None  # set only when the format itself says
    command: str | None = None  # the SMTP command that failed (MAIL, RCPT, DATA, ...)
    # What the reporting MTA wrote about the failure beside the reply, used to
    # classify but not shown as the diagnostic: the comment after a DSN status
    # ("5.2.1 (mailbox disabled, not accepting messages)").
    note: str | None = None
    # The reporting MTA's own classification of the failure, as a reason name
    # (PowerMTA's "X-PowerMTA-BounceCategory: bad-mailbox" is userunknown). The
    # remote server's words still decide where they name a reason; see
    # :func:`postwarden.classify.reply.decide`.
    hint: str | None = None


@dataclass
class Decoded:
    findings: list[Finding]
    original: Headers | None = None  # returned message, when found inline in the text
    complaint: ComplaintReport | None = None
    kind: str | None = None  # set only when the format itself says


class Decoder(Protocol):
    NAME: str
    PRIORITY: int

    def decode(self, msg: Message) -> Decoded | None: ...


@dataclass
class Registry:
    decoders: list[Decoder] = field(default_factory=list)

    def names(self) -> list[str]:
        return [d.NAME for d in self.decoders]
