"""The gate answers as the ledger does, and sees every change at once."""

from __future__ import annotations

import asyncio
import time

import pytest
from sqlalchemy import Engine

from postwarden import settings as settings_mod
from postwarden.gate import service
from postwarden.gate.service import Gate
from postwarden.ledger import Consent, Feedback, Ledger
from tests.conftest import Clock


def verdicts(gate: Gate, addresses: list[str], scope: str = "*") -> list[tuple[str, str | None]]:
    return [(r.verdict, r.reason_class) for r in gate.check(addresses, scope)]


@pytest.fixture
def two_processes(engine: Engine, tenant: str, clock: Clock,
                  monkeypatch: pytest.MonkeyPatch) -> tuple[Ledger, Ledger]:
    """The ledger a gate reads through, and another process's, with the gate looking
    for changes every 0.05 s."""
    monkeypatch.setattr(service, "MAX_AGE", 0.05)
    settings = settings_mod.load(env={})
    return Ledger(engine, tenant, settings, clock), Ledger(engine, tenant, settings, clock)


def test_changes_by_another_process_are_enforced_within_max_age(two_processes: tuple[Ledger, Ledger]) -> None:
    ours, theirs = two_processes
    ours.suppress("old@example.com", "manual", actor="op")
    gate = Gate(ours)
    asked = ["Old@Example.com", "new@example.com", "fan@example.com", "nonsense"]
    assert verdicts(gate, asked) == [
        ("suppressed", "manual"),
        ("allowed", None),
        ("allowed", None),
        ("suppressed", "invalid"),
    ]
    theirs.apply(Feedback("new@example.com", "complaint", "fbl", feedback_type="abuse"))
    theirs.apply(Feedback("fan@example.com", "unsubscribe", "t", scope="news"))
    theirs.lift("old@example.com", note="back", actor="op")
    time.sleep(0.06)
    assert verdicts(gate, asked) == [
        ("allowed", None),
        ("suppressed", "complaint"),
        ("allowed", None),
        ("suppressed", "invalid"),
    ]
    assert verdicts(gate, asked, "news")[2] == ("suppressed", "unsubscribe")
    theirs.lift(
        "new@example.com", note="confirmed", actor="op", consent=Consent("Dana", "phone", "yes please")
    )
    # A lift is seen at once: the index only pre-filters, the ledger confirms every hit.
    assert verdicts(gate, asked)[1] == ("allowed", None)


def test_check_soon_looks_for_changes_in_a_thread_and_sees_its_own_writes_at_once(
    two_processes: tuple[Ledger, Ledger],
) -> None:
    ours, theirs = two_processes
    gate = Gate(ours)

    async def verdict(address: str) -> str:
        return (await gate.check_soon([address]))[0].verdict

    async def scenario() -> None:
        theirs.suppress("theirs@example.com", "manual", actor="op")
        await asyncio.sleep(0.06)
        # Due: the look starts in a thread, and this check answers from the index as it stands.
        assert await verdict("theirs@example.com") == "allowed"
        deadline = time.monotonic() + 1.0
        while await verdict("theirs@example.com") == "allowed":
            assert time.monotonic() < deadline, "another process's suppression not seen within 1 s"
            await asyncio.sleep(0.01)
        ours.suppress("ours@example.com", "manual", actor="op")
        assert await verdict("ours@example.com") == "suppressed"

    asyncio.run(scenario())


def test_compaction_keeps_the_answers(engine: Engine, tenant: str, clock: Clock, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(service, "COMPACT_AFTER", 3)
    ledger = Ledger(engine, tenant, settings_mod.load(env={}), clock)
    gate = Gate(ledger)
    addresses = [f"c{n}@example.com" for n in range(8)]
    for n, address in enumerate(addresses):
        ledger.suppress(address, "manual", actor="op")
        if n % 3 == 0:
            ledger.lift(address, note="back", actor="op")
        gate.check(addresses[:1])
    expected = [r.verdict for r in ledger.check(addresses)]
    assert [r.verdict for r in gate.check(addresses)] == expected
    assert expected.count("allowed") == 3


def test_gate_results_equal_the_ledger_s(engine: Engine, tenant: str, clock: Clock) -> None:
    ledger = Ledger(engine, tenant, settings_mod.load(env={}), clock)
    ledger.apply(Feedback("hard@example.com", "bounce", "t", reason="userunknown", reply_code="550"))
    ledger.apply(Feedback("two@example.com", "bounce", "t", reason="hostunknown", reply_code="550"))
    ledger.apply(Feedback("two@example.com", "complaint", "t", feedback_type="abuse"))
    ledger.apply(Feedback("fan@example.com", "unsubscribe", "t", scope="news"))
    gate = Gate(ledger)
    asked = ["Hard@Example.com", "two@example.com", "fan@example.com", "free@example.com", "bad address"]
    for scope in ("*", "news"):
        assert gate.check(asked, scope) == ledger.check(asked, scope)
