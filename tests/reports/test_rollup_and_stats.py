"""The rollup and the statistics it feeds, on both databases."""

from __future__ import annotations

import threading
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import Engine, insert, select

from postwarden.ledger import Feedback, Ledger
from postwarden.ledger.messages import SentMessage
from postwarden.ledger.models import MESSAGES, ROLLUP_MARKS
from postwarden.reports.rollup import roll_up
from postwarden.reports.stats import Counts, Lines, combined, series, series_json
from postwarden.settings import load
from tests.conftest import Clock

DAY = date(2026, 1, 5)


def _send(ledger: Ledger, recipients: list[str], at: datetime, provider: str | None = None) -> None:
    ledger.record_messages([SentMessage(f"<m{i}-{r}@example.org>", r, "news@example.org", "hello",
                                        provider=provider, sent_at=at) for i, r in enumerate(recipients)])


def _feedback(ledger: Ledger, address: str, kind: str, at: datetime, **fields: object) -> None:
    ledger.apply(Feedback(address=address, kind=kind, source="test", occurred_at=at, **fields))  # type: ignore[arg-type]


def _by_provider(ledger: Ledger, since: date = DAY, until: date = DAY) -> dict[str, Counts]:
    return {s.provider: s.total for s in series(ledger.engine, ledger.tenant_id, since, until)}


def test_counts_land_on_their_provider_and_day(ledger: Ledger, clock: Clock) -> None:
    noon = datetime(2026, 1, 5, 12)
    gmail = [f"user{i}@gmail.com" for i in range(10)]
    _send(ledger, gmail, noon)
    # A company domain the relay found at Microsoft by its MX: feedback follows it there.
    _send(ledger, ["ann@contoso.example", "bob@contoso.example"], noon, provider="microsoft")
    _send(ledger, ["x@unknown.example"], noon)
    _feedback(ledger, gmail[0], "bounce", noon, reason="userunknown", hard_bounce=True, reply_code="550",
              status="5.1.1")
    _feedback(ledger, gmail[1], "bounce", noon, reason="mailboxfull", hard_bounce=False, status="4.2.2")
    _feedback(ledger, gmail[2], "bounce", noon, reason="blocked", hard_bounce=False, reply_code="550",
              status="5.7.1", diagnostic="550 5.7.1 blocked by policy")
    _feedback(ledger, gmail[3], "complaint", noon, feedback_type="abuse")
    _feedback(ledger, gmail[4], "unsubscribe", noon)
    _feedback(ledger, gmail[5], "delivered", noon)
    _feedback(ledger, gmail[6], "delay", noon, status="4.4.1")
    _feedback(ledger, gmail[7], "autoreply", noon)
    _feedback(ledger, "ann@contoso.example", "complaint", noon + timedelta(days=1), feedback_type="abuse")

    got = _by_provider(ledger)
    assert got["google"] == Counts(sent=10, delivered=1, deferred=1, hard_bounces=1, soft_bounces=1,
                                   sender_failures=1, complaints=1, unsubscribes=1)
    assert got["microsoft"] == Counts(sent=2)
    assert got["other"] == Counts(sent=1)
    nextday = _by_provider(ledger, DAY + timedelta(days=1), DAY + timedelta(days=1))
    assert nextday == {"microsoft": Counts(complaints=1)}
    assert got["google"].bounce_rate == pytest.approx(0.3)
    assert got["google"].complaint_rate == pytest.approx(1 / 7)

    # Asking again adds nothing: every row is counted once.
    assert _by_provider(ledger)["google"].sent == 10


def test_series_fills_every_day_and_the_json_carries_lines(ledger: Ledger) -> None:
    _send(ledger, [f"u{i}@yahoo.com" for i in range(4)], datetime(2026, 1, 3, 8))
    found = series(ledger.engine, ledger.tenant_id, date(2026, 1, 1), date(2026, 1, 4))
    assert [s.provider for s in found] == ["yahoo"]
    assert [c.sent for _, c in found[0].days] == [0, 0, 4, 0]
    assert combined(found).total.sent == 4
    body = series_json(found, Lines.of(load(env={})))
    assert body["lines"] == {"complaint_rate": [0.001, 0.003], "bounce_rate": [0.05, 0.1]}
    assert body["providers"][0]["label"].startswith("Yahoo")
    assert len(body["providers"][0]["days"]) == 4


def test_rate_levels() -> None:
    lines = Lines.of(load(env={}))
    assert lines.level(0.0005, "complaint") is None
    assert lines.level(0.001, "complaint") == "warning"
    assert lines.level(0.004, "complaint") == "critical"
    assert lines.level(0.07, "bounce") == "warning"
    assert lines.level(None, "bounce") is None


def test_concurrent_rollups_count_each_row_once(ledger: Ledger) -> None:
    noon = datetime(2026, 1, 5, 12)
    for batch in range(5):
        _send(ledger, [f"b{batch}-{i}@icloud.com" for i in range(40)], noon)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            roll_up(ledger.engine)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert _by_provider(ledger)["apple"].sent == 200


def test_a_row_committed_after_a_higher_id_is_still_counted(engine: Engine, ledger: Ledger,
                                                              db_url: str) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite has one writer at a time: ids always commit in order")
    noon = datetime(2026, 1, 5, 12)
    roll_up(engine)
    row = {"tenant_id": ledger.tenant_id, "message_id": "slow@example.org", "recipient": "late@gmx.de",
           "sender": "s@example.org", "subject": "", "stream": "transactional", "scope": "*",
           "provider": None, "status": "sent", "sent_at": noon, "status_at": noon}
    with engine.connect() as slow:
        tx = slow.begin()
        slow.execute(insert(MESSAGES).values(**row, message_ref="00"))   # takes an id, not committed
        _send(ledger, ["early@gmx.de"], noon)                              # a higher id, committed
        assert _by_provider(ledger)["gmx"].sent == 1
        tx.commit()
    assert _by_provider(ledger)["gmx"].sent == 2


def test_a_rolled_back_id_is_given_up_after_the_patience(engine: Engine, ledger: Ledger,
                                                         db_url: str) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite reuses a rolled-back rowid: no gap is left")
    noon = datetime(2026, 1, 5, 12)
    roll_up(engine)
    row = {"tenant_id": ledger.tenant_id, "message_id": "gone@example.org", "recipient": "g@web.de",
           "sender": "s@example.org", "subject": "", "stream": "transactional", "scope": "*",
           "provider": None, "status": "sent", "sent_at": noon, "status_at": noon, "message_ref": "00"}
    with engine.connect() as conn:
        tx = conn.begin()
        conn.execute(insert(MESSAGES).values(**row))
        tx.rollback()
    _send(ledger, ["h@web.de"], noon)
    roll_up(engine)
    with engine.connect() as conn:
        gaps = conn.execute(select(ROLLUP_MARKS.c.gaps).where(ROLLUP_MARKS.c.name == "messages")).scalar_one()
    assert gaps != "{}"
    roll_up(engine, gap_seconds=0)
    with engine.connect() as conn:
        gaps = conn.execute(select(ROLLUP_MARKS.c.gaps).where(ROLLUP_MARKS.c.name == "messages")).scalar_one()
    assert gaps == "{}"
    assert _by_provider(ledger)["gmx"].sent == 1
