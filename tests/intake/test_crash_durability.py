"""Kill the server with SIGKILL while a client sends; after a restart every message
that got 250 is in the ledger exactly once."""

from __future__ import annotations

import smtplib
import threading
import time
import uuid
from pathlib import Path

from sqlalchemy import Engine, func, select

from postwarden import settings as settings_mod
from postwarden.intake import spool
from postwarden.ledger import Ledger
from postwarden.ledger.models import EVENTS
from tests.intake import mail
from tests.servers import free_port, start


def test_sigkill_loses_nothing_that_was_acknowledged(db_url: str, engine: Engine, tenant: str,
                                                     tmp_path: Path) -> None:
    env = {"POSTWARDEN_WORKER_LEASE_SECONDS": "1"}
    http_port, smtp_port = free_port(), free_port()
    server = start(db_url, tmp_path / "serve.log", tenant=tenant, extra_env=env,
                   http_port=http_port, smtp_port=smtp_port)
    prefix = uuid.uuid4().hex[:8]
    acknowledged: list[str] = []
    stop = threading.Event()

    def client() -> None:
        n = 0
        while not stop.is_set():
            rcpt = f"k{prefix}-{n}@example.org"
            n += 1
            try:
                with smtplib.SMTP("127.0.0.1", smtp_port, timeout=5) as smtp:
                    smtp.ehlo("client.example")
                    smtp.mail("")
                    smtp.rcpt("bounces@bounce.localhost")
                    code, _ = smtp.data(mail.dsn(rcpt))
                if code == 250:
                    acknowledged.append(rcpt)
            except (OSError, smtplib.SMTPException):
                return  # the server is gone: whatever was not acknowledged may be lost

    sender = threading.Thread(target=client)
    sender.start()
    deadline = time.monotonic() + 20
    while len(acknowledged) < 40 and time.monotonic() < deadline:
        time.sleep(0.01)
    server.kill()
    stop.set()
    sender.join(timeout=10)
    assert len(acknowledged) >= 40, "the client should have had messages acknowledged before the kill"

    restarted = start(db_url, tmp_path / "serve.log", tenant=tenant, extra_env=env,
                      http_port=http_port, smtp_port=smtp_port)
    try:
        ledger = Ledger(engine, tenant, settings_mod.load(env={}))
        deadline = time.monotonic() + 30
        while True:
            counts = spool.counts(engine)
            if counts.get("pending", 0) == 0 and counts.get("processing", 0) == 0:
                break
            assert time.monotonic() < deadline, f"spool not drained: {counts}"
            time.sleep(0.1)
        with engine.connect() as conn:
            per_address = dict(conn.execute(
                select(EVENTS.c.address, func.count()).where(
                    EVENTS.c.tenant_id == ledger.tenant_id, EVENTS.c.address.like(f"k{prefix}-%"))
                .group_by(EVENTS.c.address)).all())
        missing = [a for a in acknowledged if per_address.get(a) != 1]
        assert not missing, f"acknowledged but not exactly once in the ledger: {missing[:5]}"
        verdicts = ledger.check(acknowledged)
        assert all(v.verdict == "suppressed" for v in verdicts)
        assert ledger.verify_audit() is None
    finally:
        restarted.stop()
