"""`postwarden relay`: an SMTP submission server that applications send through on the
way to their real MTA. It enforces the gate at RCPT (a suppressed recipient gets
550 5.7.1 with the reason, an SMTP reject), refuses outgoing spam, sets the VERP
return path so bounces find their way back, adds List-Unsubscribe to marketing mail,
DKIM-signs, hands each recipient's copy to the upstream, and answers 250 only once
the upstream has taken it. Each message sent goes into the message history.

The relay keeps no queue: the upstream's answer is the client's answer, so a message
is either with the upstream or still with the client."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import smtplib
import ssl
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from functools import partial
from ipaddress import ip_address
from typing import Any, TypeVar

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from sqlalchemy import Engine

from postwarden import settings as settings_mod
from postwarden.address import normalize
from postwarden.classify import classify_reply
from postwarden.errors import InvalidAddress, InvalidInput, PostwardenError
from postwarden.gate import outbound
from postwarden.gate.compose import (
    CONTROL_HEADERS,
    STREAM_HEADER,
    TOPIC_HEADER,
    Signer,
    Split,
    new_message_id,
    split,
)
from postwarden.gate.outbound import decoded_header
from postwarden.gate.service import Gate
from postwarden.ledger import Feedback, Ledger
from postwarden.ledger.messages import STREAMS, SentMessage
from postwarden.ledger.secrets import token_key
from postwarden.ledger.tenants import tenant_for_key
from postwarden.tokens import BOUNCE_LOCAL, unsubscribe_headers, verp_encode

log = logging.getLogger("postwarden.relay")
T = TypeVar("T")


# A sender's own List-Unsubscribe would point past our ledger; ours replaces it.
UNSUBSCRIBE_HEADERS = frozenset({"list-unsubscribe", "list-unsubscribe-post"})


class Reply:
    """Replies we send, each name ending in its reply code and enhanced status code."""

    SENDER_OK_250_2_1_0 = "250 2.1.0 Sender ok"
    RECIPIENT_OK_250_2_1_5 = "250 2.1.5 Recipient ok"
    SENT_250_2_0_0 = "250 2.0.0 Ok: handed on to the upstream as {}"
    PARTLY_SENT_250_2_0_0 = "250 2.0.0 Ok: handed on as {}; not sent to {}"
    AUTH_REQUIRED_530_5_7_0 = "530 5.7.0 Authentication required"
    RATE_LIMITED_451_4_7_1 = ("451 4.7.1 Sending rate above {} messages a minute for this sender: "
                              "try again later")
    BAD_ADDRESS_553_5_1_3 = "553 5.1.3 <{}>: {}"
    SUPPRESSED_550_5_7_1 = "550 5.7.1 <{}>: suppressed: {}"
    NO_RECIPIENTS_554_5_5_1 = "554 5.5.1 No valid recipients"
    BAD_CONTROL_HEADER_554_5_6_0 = "554 5.6.0 {}"
    SPAM_554_5_7_1 = "554 5.7.1 Message refused as likely spam (score {} at or over {}): {}"
    ALL_SUPPRESSED_550_5_7_1 = "550 5.7.1 Every recipient is suppressed for topic {!r}"
    UPSTREAM_DOWN_451_4_4_1 = "451 4.4.1 The upstream mail server cannot be reached: try again later"
    TRY_AGAIN_451_4_3_0 = "451 4.3.0 Temporary failure: please try again later"
    TOO_BIG_552_5_3_4 = "552 5.3.4 Message too big: the relay takes at most {} bytes"


@dataclass
class RateLimit:
    """A token bucket per sender: ``per_minute`` messages, refilled continuously."""

    per_minute: int
    clock: Callable[[], float] = time.monotonic
    buckets: dict[str, tuple[float, float]] = field(default_factory=dict)

    def allow(self, sender: str) -> bool:
        now = self.clock()
        tokens, then = self.buckets.get(sender, (float(self.per_minute), now))
        tokens = min(float(self.per_minute), tokens + (now - then) * self.per_minute / 60.0)
        if tokens < 1.0:
            self.buckets[sender] = (tokens, now)
            return False
        self.buckets[sender] = (tokens - 1.0, now)
        return True


@dataclass(frozen=True)
class Copy:
    recipient: str
    return_path: str
    data: bytes


@dataclass(frozen=True)
class Handed:
    """The upstream's answer for one copy."""

    recipient: str
    code: int
    text: str

    @property
    def accepted(self) -> bool:
        return 200 <= self.code < 300


class Upstream:
    """Hands copies to the upstream MTA over SMTP, keeping idle connections for reuse
    (connection setup would otherwise cost more than a small message)."""

    def __init__(self, settings: settings_mod.Settings) -> None:
        host, _, port = str(settings.relay_upstream).rpartition(":")
        if not host or not port.isdigit():
            raise InvalidInput(f"relay_upstream {settings.relay_upstream!r} is not host:port")
        self.host, self.port = host.strip("[]"), int(port)
        self.starttls = bool(settings.relay_upstream_starttls)
        self.login = (str(settings.relay_upstream_username), str(settings.relay_upstream_password))
        self._idle: list[smtplib.SMTP] = []
        self._lock = threading.Lock()

    def _connect(self) -> smtplib.SMTP:
        conn = smtplib.SMTP(self.host, self.port, timeout=60)
        conn.ehlo()
        if self.starttls:
            conn.starttls(context=ssl.create_default_context())
            conn.ehlo()
        if self.login[0]:
            conn.login(*self.login)
        return conn

    def _take(self) -> smtplib.SMTP:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return self._connect()

    def deliver(self, copies: list[Copy]) -> list[Handed]:
        """Each copy's answer. An upstream that cannot be reached raises OSError."""
        conn = self._take()
        try:
            results = [self._one(conn, c) for c in copies]
        except smtplib.SMTPServerDisconnected:
            # An idle connection the upstream closed meanwhile: once more on a fresh one.
            conn = self._connect()
            results = [self._one(conn, c) for c in copies]
        with self._lock:
            self._idle.append(conn)
        return results

    @staticmethod
    def _one(conn: smtplib.SMTP, copy: Copy) -> Handed:
        for step in (partial(conn.mail, copy.return_path), partial(conn.rcpt, copy.recipient)):
            code, text = step()
            if not 200 <= code < 300:
                conn.rset()
                return Handed(copy.recipient, code, text.decode("utf-8", "replace"))
        code, text = conn.data(copy.data)
        return Handed(copy.recipient, code, text.decode("utf-8", "replace"))

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                conn.quit()


class HistoryWriter:
    """Commits the history of messages from concurrent sessions together: one
    transaction per tenant for everything that arrived while the previous one
    committed (a SQLite commit costs milliseconds; the sessions would queue for it)."""

    def __init__(self) -> None:
        self._queue: queue.Queue[tuple[Ledger, list[SentMessage], list[Feedback], Future[None]] | None] = (
            queue.Queue())
        self._thread = threading.Thread(target=self._run, name="relay-history", daemon=True)
        self._thread.start()

    def record(self, ledger: Ledger, sent: list[SentMessage], rejects: list[Feedback]) -> Future[None]:
        done: Future[None] = Future()
        self._queue.put((ledger, sent, rejects, done))
        return done

    def _run(self) -> None:
        while (first := self._queue.get()) is not None:
            batch = [first]
            with contextlib.suppress(queue.Empty):
                while len(batch) < 500:
                    item = self._queue.get_nowait()
                    if item is None:
                        self._queue.put(None)
                        break
                    batch.append(item)
            by_tenant: dict[int, list[tuple[Ledger, list[SentMessage], list[Feedback], Future[None]]]] = {}
            for item in batch:
                by_tenant.setdefault(item[0].tenant_id, []).append(item)
            for items in by_tenant.values():
                self._commit(items)

    @staticmethod
    def _commit(items: list[tuple[Ledger, list[SentMessage], list[Feedback], Future[None]]]) -> None:
        ledger = items[0][0]
        try:
            ledger.record_messages([m for _, sent, _, _ in items for m in sent])
            rejects = [f for _, _, found, _ in items for f in found]
            if rejects:
                ledger.apply_many(rejects, actor="relay")
        except Exception as exc:
            for *_, done in items:
                done.set_exception(exc)
            return
        for *_, done in items:
            done.set_result(None)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=10)


def _loopback(session: Session) -> bool:
    try:
        peer = session.peer
        return isinstance(peer, tuple) and ip_address(str(peer[0])).is_loopback
    except ValueError:
        return False


class RelayHandler:
    def __init__(self, engine: Engine, settings: settings_mod.Settings) -> None:
        self.engine = engine
        self.settings = settings
        self.key = token_key(engine, settings)
        self.upstream = Upstream(settings)
        self.limit = RateLimit(int(settings.relay_rate_per_minute))
        self.threshold = float(settings.relay_spam_threshold)
        self.loopback_tenant = str(settings.relay_loopback_tenant)
        self.tls = bool(settings.relay_tls_cert)
        self.signer: Signer | None = None
        if settings.dkim_domain:
            with open(str(settings.dkim_private_key), "rb") as fh:
                self.signer = Signer(str(settings.dkim_domain), str(settings.dkim_selector), fh.read())
        self.gates: dict[str, Gate] = {}
        self._gates_lock = threading.Lock()
        self.history = HistoryWriter()

    # --- authentication ------------------------------------------------------------------

    def authenticate(self, server: SMTP, session: Session, envelope: Envelope, mechanism: str,
                     auth_data: Any) -> AuthResult:
        """Login: the tenant's name; password: one of its API keys. Without STARTTLS
        configured, passwords are taken only over loopback."""
        if not isinstance(auth_data, LoginPassword) or not (self.tls or _loopback(session)):
            return AuthResult(success=False, handled=False)
        login = auth_data.login.decode("utf-8", "replace")
        try:
            tenant = tenant_for_key(self.engine, auth_data.password.decode("utf-8", "replace"))
        except PostwardenError:
            return AuthResult(success=False, handled=False)
        if tenant != login:
            return AuthResult(success=False, handled=False)
        return AuthResult(success=True, auth_data=tenant)

    def _tenant(self, session: Session) -> str | None:
        if session.authenticated and isinstance(session.auth_data, str):
            return session.auth_data
        if self.loopback_tenant and _loopback(session):
            return self.loopback_tenant
        return None

    def _gate(self, tenant: str) -> Gate:
        with self._gates_lock:
            if tenant not in self.gates:
                self.gates[tenant] = Gate(Ledger(self.engine, tenant, self.settings))
            return self.gates[tenant]

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(None, fn, *args)

    # --- SMTP hooks ------------------------------------------------------------------------

    def close(self) -> None:
        self.upstream.close()
        self.history.close()

    async def handle_MAIL(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          mail_options: list[str]) -> str:
        tenant = self._tenant(session)
        if tenant is None:
            return Reply.AUTH_REQUIRED_530_5_7_0
        sender = tenant if session.authenticated else f"{tenant}:{address.lower()}"
        if not self.limit.allow(sender):
            return Reply.RATE_LIMITED_451_4_7_1.format(self.limit.per_minute)
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return Reply.SENDER_OK_250_2_1_0

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:
        tenant = self._tenant(session)
        if tenant is None:
            return Reply.AUTH_REQUIRED_530_5_7_0
        try:
            recipient = normalize(address)
        except InvalidAddress as exc:
            return Reply.BAD_ADDRESS_553_5_1_3.format(address, exc.message)
        # In the event loop: the index answers in microseconds, and its look at the
        # ledger for changes (every 0.2 s at most) runs in a thread.
        (result,) = await self._gate(tenant).check_soon([recipient])
        if result.verdict == "suppressed":
            why = f"{result.reason_class}" + (f" ({result.reason})" if result.reason else "")
            since = result.since.date().isoformat() if result.since else "unknown"
            log.info("relay: %s refused %s at RCPT: %s since %s", tenant, recipient, why, since)
            return Reply.SUPPRESSED_550_5_7_1.format(
                recipient, f"{why} since {since}; {result.lift_explanation}")
        envelope.rcpt_tos.append(recipient)
        return Reply.RECIPIENT_OK_250_2_1_5

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        tenant = self._tenant(session)
        if tenant is None:
            return Reply.AUTH_REQUIRED_530_5_7_0
        if not envelope.rcpt_tos:
            return Reply.NO_RECIPIENTS_554_5_5_1
        raw = envelope.original_content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        try:
            return await self._run(self._send, tenant, str(envelope.mail_from or ""), list(envelope.rcpt_tos),
                                   raw)
        except OSError:
            log.exception("relay: upstream %s:%s unreachable", self.upstream.host, self.upstream.port)
            return Reply.UPSTREAM_DOWN_451_4_4_1

    async def handle_exception(self, error: Exception) -> str:
        """One client's bad input never takes the server down; the client may retry."""
        log.exception("relay: error in an SMTP session", exc_info=error)
        return Reply.TRY_AGAIN_451_4_3_0

    # --- the send, in a worker thread ------------------------------------------------------

    def _send(self, tenant: str, mail_from: str, recipients: list[str], raw: bytes) -> str:
        ledger = self._gate(tenant).ledger
        message = split(raw)
        stream = (message.get(STREAM_HEADER) or "transactional").lower()
        if stream not in STREAMS:
            return Reply.BAD_CONTROL_HEADER_554_5_6_0.format(
                f"{STREAM_HEADER}: {stream!r} is not one of {', '.join(STREAMS)}")
        try:
            topic = ledger.valid_scope(message.get(TOPIC_HEADER) or "*")
        except InvalidInput as exc:
            return Reply.BAD_CONTROL_HEADER_554_5_6_0.format(exc.message)
        if topic != "*":
            # RCPT could only check all-mail suppressions; the topic is known now.
            checked = self._gate(tenant).check(recipients, topic)
            held = {r.address for r in checked if r.verdict == "suppressed"}
            recipients = [r for r in recipients if r not in held]
            if not recipients:
                return Reply.ALL_SUPPRESSED_550_5_7_1.format(topic)
        else:
            held = set()
        message = message.without(CONTROL_HEADERS)
        message_id = message.get("message-id")
        if not message_id:
            message_id = new_message_id(str(self.settings.dkim_domain or self.settings.intake_domain))
            message = message.with_first([("Message-ID", message_id)])
        copies = [self._copy(ledger, message, r, message_id, stream, topic) for r in recipients]
        verdict = outbound.score(copies[0].data)
        log.info("relay: %s message %s spam score %s: %s", tenant, message_id, verdict.total,
                 verdict.summary())
        if verdict.total >= self.threshold:
            return Reply.SPAM_554_5_7_1.format(verdict.total, self.threshold, verdict.summary())
        if self.signer is not None:
            copies = [Copy(c.recipient, c.return_path, self.signer.sign(c.data)) for c in copies]
        handed = self.upstream.deliver(copies)
        return self._record(ledger, handed, mail_from, message, message_id, stream, topic, held)

    def _copy(self, ledger: Ledger, message: Split, recipient: str, message_id: str, stream: str,
              topic: str) -> Copy:
        extra: list[tuple[str, str]] = []
        if stream == "marketing":
            headers = unsubscribe_headers(self.key, ledger.tenant_id, recipient, topic,
                                          public_url=str(self.settings.public_url),
                                          intake_domain=str(self.settings.intake_domain))
            extra = list(headers.as_dict().items())
        return_path = verp_encode(self.key, ledger.tenant_id, recipient, message_id, local=BOUNCE_LOCAL,
                                  domain=str(self.settings.intake_domain))
        if extra:
            message = message.without(UNSUBSCRIBE_HEADERS).with_first(extra)
        return Copy(recipient, return_path, message.bytes())

    def _reject(self, handed: Handed, message_id: str) -> Feedback:
        verdict = classify_reply(f"{handed.code} {handed.text}")
        return Feedback(address=handed.recipient, kind="bounce", source="relay:upstream",
                        reason=verdict.reason, hard_bounce=verdict.hard_bounce, status=verdict.status,
                        reply_code=str(handed.code), diagnostic=handed.text[:1000], message_id=message_id,
                        details={"stage": "smtp", "upstream": f"{self.upstream.host}:{self.upstream.port}"})

    def _record(self, ledger: Ledger, handed: list[Handed], mail_from: str, message: Split, message_id: str,
                stream: str, topic: str, held: set[str]) -> str:
        """The history gets every copy the upstream took, and every one it refused
        outright (as an SMTP-time reject, so the policy sees it like any bounce)."""
        # As people read them on the contact card: RFC 2047 words decoded.
        subject = decoded_header(message.get("subject") or "")
        sender = decoded_header(message.get("from") or mail_from)
        sent = [SentMessage(message_id, h.recipient, sender[:320], subject, stream, topic) for h in handed
                if h.accepted or h.code >= 500]
        rejects = [self._reject(h, message_id) for h in handed if h.code >= 500]
        try:
            self.history.record(ledger, sent, rejects).result()
        except Exception:
            # The upstream has the message: a 4xx now would make the client send it twice.
            log.exception("relay: message %s handed on but not recorded", message_id)
        accepted = [h for h in handed if h.accepted]
        refused = [h for h in handed if not h.accepted]
        if not accepted:
            first = refused[0]
            return f"{first.code} {first.text}"
        if refused or held:
            return Reply.PARTLY_SENT_250_2_0_0.format(
                message_id, ", ".join([f"{h.recipient} ({h.code})" for h in refused] +
                                      [f"{r} (suppressed for {topic})" for r in sorted(held)]))
        return Reply.SENT_250_2_0_0.format(message_id)


class RelaySMTP(SMTP):
    async def push(self, status: Any) -> None:
        text = status.decode() if isinstance(status, bytes) else status
        if text.startswith("552 Error: Too much mail data"):
            text = Reply.TOO_BIG_552_5_3_4.format(self.data_size_limit)
        await super().push(text)


def tls_context(settings: settings_mod.Settings) -> ssl.SSLContext | None:
    if not settings.relay_tls_cert:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(settings.relay_tls_cert), str(settings.relay_tls_key) or None)
    return context


async def start_relay(engine: Engine, settings: settings_mod.Settings
                      ) -> tuple[asyncio.AbstractServer, RelayHandler]:
    """Listen on relay_host:relay_port; the handler is returned for closing its
    upstream connections."""
    handler = RelayHandler(engine, settings)
    context = tls_context(settings)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: RelaySMTP(handler, data_size_limit=int(settings.relay_max_message_size), decode_data=False,
                          enable_SMTPUTF8=True, ident="postwarden relay", tls_context=context,
                          auth_require_tls=context is not None, authenticator=handler.authenticate,
                          hostname=str(settings.dkim_domain or settings.intake_domain)),
        host=str(settings.relay_host), port=int(settings.relay_port))
    return server, handler


def run(settings: settings_mod.Settings) -> None:
    """Serve until interrupted."""
    from postwarden.ledger.db import make_engine, require_schema

    engine = make_engine(settings.database_url)
    require_schema(engine)

    async def main() -> None:
        server, handler = await start_relay(engine, settings)
        log.warning("relay listening on %s:%s, upstream %s", settings.relay_host, settings.relay_port,
                    settings.relay_upstream)
        try:
            await server.serve_forever()
        finally:
            handler.close()

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
