"""The bulk helpers' own rules."""

from __future__ import annotations

import gc

import pytest
from sqlalchemy import Connection, Engine, text

from postwarden.ledger import Ledger, bulk


def test_paused_gc_comes_back_as_it_was_after_the_last_of_overlapping_pauses() -> None:
    assert gc.isenabled()
    first, second = bulk.paused_gc(), bulk.paused_gc()
    first.__enter__()
    second.__enter__()
    assert not gc.isenabled()
    first.__exit__(None, None, None)  # the other pause still holds
    assert not gc.isenabled()
    second.__exit__(None, None, None)
    assert gc.isenabled()
    gc.disable()
    try:
        with bulk.paused_gc():
            pass
        assert not gc.isenabled()  # it was off before: left off
    finally:
        gc.enable()


def test_shared_and_probed_lookups_answer_as_one_array_does(ledger: Ledger,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    for n in range(6):
        ledger.suppress(f"held{n}@example.com", "manual", actor="op")
    ledger.suppress("topic@example.com", "unsubscribe", scope="news", actor="op")
    ledger.lift("held5@example.com", note="asked", actor="op")
    wanted = [f"held{n}@example.com" for n in range(6)] + ["topic@example.com", "never@example.com"]
    plain = ledger.check(wanted, scope="news")
    assert [r.verdict for r in plain] == ["suppressed"] * 5 + ["allowed", "suppressed", "allowed"]
    monkeypatch.setattr(bulk, "POSTGRES_ARRAY_UP_TO", 1)
    monkeypatch.setattr(bulk, "POSTGRES_SHARE_FROM", 3)  # two shares of four addresses
    assert ledger.check(wanted, scope="news") == plain
    assert ledger.check(wanted[:1]) == plain[:1]


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)  # only its lookup changes them
def test_probing_leaves_the_callers_transaction_planning_as_it_was(engine: Engine,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bulk, "POSTGRES_ARRAY_UP_TO", 1)
    settings = ("enable_hashjoin", "enable_mergejoin", "jit")

    def shown(conn: Connection) -> list[str]:
        return [conn.execute(text(f"SHOW {name}")).scalar_one() for name in settings]

    with engine.begin() as conn:
        before = shown(conn)
        assert list(bulk.lookup(conn, 1, ["a@example.com", "b@example.com"], None, active_only=False)) == []
        assert shown(conn) == before
        assert before[:2] == ["on", "on"]
