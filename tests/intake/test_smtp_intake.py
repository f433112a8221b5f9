"""SMTP intake against a real `postwarden serve` process, on SQLite and PostgreSQL."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, func, select

from postwarden import settings as settings_mod
from postwarden.intake import spool
from postwarden.ledger import Ledger
from postwarden.ledger.models import EVENTS
from postwarden.ledger.secrets import token_key
from postwarden.ledger.tenants import create_api_key
from postwarden.tokens import unsubscribe_headers, verp_encode
from tests.intake import mail
from tests.servers import Server, start


@pytest.fixture
def server(db_url: str, engine: Engine, tenant: str, tmp_path: Path) -> Iterator[Server]:
    running = start(
        db_url,
        tmp_path / "serve.log",
        tenant=tenant,
        extra_env={"POSTWARDEN_SMTP_MAX_MESSAGE_SIZE": "200000"},
    )
    yield running
    running.stop()


@pytest.fixture
def ledger(engine: Engine, tenant: str) -> Ledger:
    return Ledger(engine, tenant, settings_mod.load(env={}))


def eventually(check: Callable[[], bool], seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


def send(server: Server, rcpt: str, message: bytes) -> tuple[int, bytes]:
    with server.smtp() as smtp:
        smtp.ehlo("tester.example")
        smtp.mail("")
        code, text = smtp.rcpt(rcpt)
        if code != 250:
            return code, text
        return smtp.data(message)


def suppressed(ledger: Ledger, address: str, scope: str = "*") -> bool:
    return ledger.check([address], scope)[0].verdict == "suppressed"


def unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}@example.org"


def test_refuses_other_recipients_and_oversize_mail(server: Server) -> None:
    with server.smtp() as smtp:
        smtp.ehlo("tester.example")
        smtp.mail("someone@example.org")
        code, text = smtp.rcpt("victim@example.com")
        assert code == 550 and b"5.1.1" in text and b"relaying denied" in text
        code, _ = smtp.rcpt("bounces@bounce.localhost")
        assert code == 250
        code, text = smtp.data(mail.plain("bounces@bounce.localhost", ("x" * 99 + "\r\n") * 3000))
        assert code == 552 and b"5.3.4" in text


def test_a_bounce_to_a_verp_address_suppresses_its_recipient(server: Server, ledger: Ledger) -> None:
    rcpt = unique("gone")
    return_path = verp_encode(
        token_key(ledger.engine, ledger.settings),
        ledger.tenant_id,
        rcpt,
        "<winter-1@shop.example>",
        local="bounces",
        domain="bounce.localhost",
    )
    code, reply = send(server, return_path, mail.dsn(rcpt, to=return_path))
    assert code == 250, reply
    eventually(lambda: suppressed(ledger, rcpt))
    result = ledger.check([rcpt])[0]
    assert (result.reason_class, result.reason) == ("hard_bounce", "userunknown")
    event = ledger.events_for(rcpt)[0]
    assert event.reply_code == "550" and event.status == "5.1.1" and event.evidence_id is not None


def test_a_bounce_nobody_can_read_is_still_tied_by_verp(server: Server, ledger: Ledger) -> None:
    rcpt = unique("mystery")
    return_path = verp_encode(
        token_key(ledger.engine, ledger.settings),
        ledger.tenant_id,
        rcpt,
        "<m@shop.example>",
        local="bounces",
        domain="bounce.localhost",
    )
    assert send(server, return_path, mail.plain(return_path, "?? cannot deliver ??"))[0] == 250
    eventually(lambda: len(ledger.events_for(rcpt)) == 1)
    event = ledger.events_for(rcpt)[0]
    assert (event.kind, event.reason, event.reason_class) == ("bounce", "undefined", "soft_bounce")
    assert not suppressed(ledger, rcpt)


def test_forged_verp_is_ignored_and_the_message_kept(server: Server, ledger: Ledger) -> None:
    rcpt = unique("forged")
    forged = f"bounces+{rcpt.replace('@', '=')}=aaaaaaaaaaaaaaaaaaaaaaaaaaaa@bounce.localhost"
    assert send(server, forged, mail.plain(forged))[0] == 250
    eventually(
        lambda: any(
            "VERP token ignored" in (e.result or "")
            for e in spool.entries(ledger.engine, "unrecognised", ledger.tenant_id, 1000)
        )
    )
    assert ledger.events_for(rcpt) == []


def test_complaint_to_the_fbl_address_and_sending_twice_changes_nothing(
    server: Server, ledger: Ledger
) -> None:
    rcpt = unique("angry")
    message = mail.arf(rcpt)
    for _ in range(2):
        assert send(server, "fbl@bounce.localhost", message)[0] == 250
    eventually(lambda: suppressed(ledger, rcpt))
    eventually(
        lambda: (
            spool.counts(ledger.engine).get("processing", 0) == 0
            and spool.counts(ledger.engine).get("pending", 0) == 0
        )
    )
    assert ledger.check([rcpt])[0].reason_class == "complaint"
    assert len(ledger.events_for(rcpt)) == 1
    assert [e.action for e in ledger.audit_for(rcpt)] == ["created"]


def test_sender_side_block_is_an_alert_not_a_suppression(server: Server, ledger: Ledger) -> None:
    rcpt = unique("fine")
    block = mail.dsn(
        rcpt,
        status="5.7.1",
        code="554",
        text="Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org",
    )
    assert send(server, "bounces@bounce.localhost", block)[0] == 250
    eventually(lambda: len(ledger.events_for(rcpt)) == 1)
    assert not suppressed(ledger, rcpt)
    assert rcpt in [a.address for a in ledger.alerts()]


def test_unrecognised_mail_is_kept_and_can_be_reprocessed(server: Server, ledger: Ledger) -> None:
    note = uuid.uuid4().hex
    assert send(server, "bounces@bounce.localhost", mail.plain("bounces@bounce.localhost", note))[0] == 250
    api = httpx.Client(
        base_url=server.http,
        headers={"Authorization": f"Bearer {create_api_key(ledger.engine, ledger.tenant_name)}"},
    )

    def kept() -> list[dict[str, object]]:
        items = api.get("/v1/unrecognised", params={"limit": 1000}).json()["items"]
        return [i for i in items if note.encode() in api.get(f"/v1/unrecognised/{i['id']}/raw").content]

    eventually(lambda: bool(kept()))
    entry = kept()[0]
    assert "no delivery-status records" in str(entry["result"])
    assert api.post(f"/v1/unrecognised/{entry['id']}/reprocess").json() == {"queued": 1}
    # Still not a bounce, so after the worker's second look it is kept again, not dropped.
    eventually(lambda: bool(kept()))


def test_mailto_unsubscribe_and_one_click(server: Server, ledger: Ledger) -> None:
    key = token_key(ledger.engine, ledger.settings)
    rcpt = unique("fan")
    headers = unsubscribe_headers(
        key, ledger.tenant_id, rcpt, "newsletter", public_url=server.http, intake_domain="bounce.localhost"
    )
    assert send(server, headers.mailto, mail.plain(headers.mailto, "unsubscribe"))[0] == 250
    eventually(lambda: suppressed(ledger, rcpt, "newsletter"))
    assert not suppressed(ledger, rcpt)

    other = unique("clicker")
    headers = unsubscribe_headers(
        key, ledger.tenant_id, other, "*", public_url=server.http, intake_domain="bounce.localhost"
    )
    page = httpx.get(headers.url)
    assert page.status_code == 200 and "<form" in page.text and not suppressed(ledger, other)
    for _ in range(3):
        clicked = httpx.post(headers.url, data={"List-Unsubscribe": "One-Click"})
        assert clicked.status_code == 200 and "set-cookie" not in clicked.headers
    assert suppressed(ledger, other)
    assert [e.action for e in ledger.audit_for(other)] == ["created"]
    assert (
        httpx.post(headers.url.replace("/u/", "/u/x"), data={"List-Unsubscribe": "One-Click"}).status_code
        == 400
    )
    assert httpx.post(headers.url, data={"something": "else"}).status_code == 400


def test_one_event_row_per_message(server: Server, ledger: Ledger, engine: Engine) -> None:
    rcpt = unique("count")
    for status in ("4.2.2", "4.2.2"):
        send(
            server, "bounces@bounce.localhost", mail.dsn(rcpt, status=status, code="452", text="Mailbox full")
        )
    eventually(lambda: len(ledger.events_for(rcpt)) == 2)
    with engine.connect() as conn:
        n = conn.execute(select(func.count()).select_from(EVENTS).where(EVENTS.c.address == rcpt)).scalar()
    assert n == 2 and not suppressed(ledger, rcpt)
