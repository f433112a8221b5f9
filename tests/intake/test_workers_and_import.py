"""Workers in several processes share one spool; an old bounce mailbox imports."""

from __future__ import annotations

import mailbox
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, func, select, update

from postwarden import settings as settings_mod
from postwarden.intake import spool
from postwarden.intake.worker import IntakeWorker
from postwarden.ledger import Ledger
from postwarden.ledger.models import EVENTS, SPOOL
from tests.intake import mail

POSTWARDEN = str(Path(sys.executable).with_name("postwarden"))


def test_concurrent_worker_processes_take_each_entry_once(db_url: str, engine: Engine, tenant: str) -> None:
    recipients = [f"w{n}-{tenant}@example.org" for n in range(120)]
    ids = [spool.enqueue(engine, "smtp", {"mail_from": "", "rcpt_tos": ["bounces@bounce.localhost"]},
                         mail.dsn(r)) for r in recipients]
    env = {"POSTWARDEN_INTAKE_TENANT": tenant}
    workers = [subprocess.Popen([POSTWARDEN, "--database", db_url, "worker", "--once"],
                                env={**os.environ, **env}, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE) for _ in range(3)]
    for worker in workers:
        assert worker.wait(timeout=120) == 0, worker.stderr.read() if worker.stderr else ""
    with engine.connect() as conn:
        rows = conn.execute(select(SPOOL.c.state, SPOOL.c.attempts).where(SPOOL.c.id.in_(ids))).all()
        events = conn.execute(select(EVENTS.c.address, func.count()).where(EVENTS.c.address.in_(recipients))
                              .group_by(EVENTS.c.address)).all()
    assert {state for state, _ in rows} == {"done"}
    assert {attempts for _, attempts in rows} == {1}, "an entry was claimed by two workers"
    assert sorted(events) == sorted((r, 1) for r in recipients)


def test_import_mail_from_a_maildir_folder_and_an_mbox(db_url: str, engine: Engine, tenant: str,
                                                       tmp_path: Path) -> None:
    folder = tmp_path / "bounces"
    folder.mkdir()
    (folder / "1.eml").write_bytes(mail.dsn(f"hard-{tenant}@example.org"))
    (folder / "2.eml").write_bytes(mail.arf(f"spam-{tenant}@example.org"))
    (folder / "3.eml").write_bytes(mail.plain("bounces@bounce.localhost", "just a note"))
    box = mailbox.mbox(str(tmp_path / "old.mbox"))
    box.add(mailbox.mboxMessage(mail.dsn(f"full-{tenant}@example.org", status="4.2.2", code="452",
                                         text="Mailbox full", action="failed")))
    box.flush()
    result = subprocess.run([POSTWARDEN, "--database", db_url, "--tenant", tenant, "import", "mail",
                             str(folder), str(tmp_path / "old.mbox")], capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert "userunknown" in result.stdout and "unrecognised" in result.stdout
    ledger = Ledger(engine, tenant, settings_mod.load(env={}))
    verdicts = {r.address: r.reason_class for r in ledger.check(
        [f"hard-{tenant}@example.org", f"spam-{tenant}@example.org", f"full-{tenant}@example.org"])}
    assert verdicts == {f"hard-{tenant}@example.org": "hard_bounce",
                        f"spam-{tenant}@example.org": "complaint", f"full-{tenant}@example.org": None}
    assert len(spool.entries(engine, "unrecognised", ledger.tenant_id)) >= 1
    again = subprocess.run([POSTWARDEN, "--database", db_url, "--tenant", tenant, "import", "mail",
                            str(folder)], capture_output=True, text=True, timeout=120, check=False)
    assert again.returncode == 0 and "duplicate" in again.stdout
    assert [e.action for e in ledger.audit_for(f"hard-{tenant}@example.org")] == ["created"]


def test_workers_sweep_expired_suppressions(engine: Engine, tenant: str) -> None:
    ledger = Ledger(engine, tenant, settings_mod.load(env={}))
    past = datetime.now(UTC).replace(tzinfo=None) - timedelta(minutes=1)
    ledger.suppress(f"gone-soon@{tenant}.example.org", "soft_bounce", actor="op", expires_at=past)
    ledger.suppress(f"stays@{tenant}.example.org", "manual", actor="op")
    assert IntakeWorker(engine, settings_mod.load(env={})).sweep_expired() >= 1
    assert [e.action for e in ledger.audit_for(f"gone-soon@{tenant}.example.org")] == ["created", "expired"]
    assert [r.state for r in ledger.suppressions_for(f"stays@{tenant}.example.org")] == ["active"]


def test_the_spool_holds_new_input_while_the_workers_are_behind(engine: Engine) -> None:
    """Admission: a sender's 250 waits while more entries than the limit wait for a
    worker; it comes once they are taken, or after the longest hold regardless."""
    envelope = {"mail_from": "", "rcpt_tos": ["bounces@bounce.localhost"]}
    base = spool.unclaimed(engine)
    behind = [spool.enqueue(engine, "smtp", envelope, b"behind") for _ in range(5)]
    writer = spool.SpoolWriter(engine, backlog_limit=base + 2)
    try:
        held = writer.submit("smtp", envelope, b"held")
        time.sleep(0.5)
        assert not held.done()
        with engine.begin() as conn:
            conn.execute(update(SPOOL).where(SPOOL.c.id.in_(behind[:4])).values(state="done"))
        assert held.result(timeout=10) > max(behind)
        # Workers making no progress at all: stored anyway after the hold.
        writer.MAX_HOLD = 0.3
        extra = [spool.enqueue(engine, "smtp", envelope, b"behind") for _ in range(3)]
        started = time.monotonic()
        assert writer.submit("smtp", envelope, b"late").result(timeout=10) > max(extra)
        assert 0.25 < time.monotonic() - started < 5
    finally:
        writer.close()
        with engine.begin() as conn:
            conn.execute(update(SPOOL).where(SPOOL.c.body.in_((b"behind", b"held", b"late")))
                         .values(state="done"))
