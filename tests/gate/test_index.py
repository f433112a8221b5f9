"""The in-memory index agrees with the ledger."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine

from postwarden import settings as settings_mod
from postwarden.gate.index import Active, SuppressionIndex
from postwarden.ledger import Feedback, Ledger
from postwarden.ledger.service import SuppressionFilter
from tests.conftest import Clock

NOW = datetime(2026, 1, 5, 12, 0, 0)


def active(scope: str = "*", expires_at: datetime | None = None, cls: str = "manual") -> Active:
    return Active(scope, cls, None, NOW - timedelta(days=3), expires_at)


def index_of(rows: list[tuple[str, str, datetime | None]]) -> SuppressionIndex:
    index = SuppressionIndex()
    index.load((address, active(scope, expires_at)) for address, scope, expires_at in rows)
    return index


def test_scopes_expiry_and_normalisation() -> None:
    index = index_of(
        [
            ("a@example.com", "*", None),
            ("b@example.com", "news", None),
            ("c@example.com", "*", NOW - timedelta(days=1)),
            ("d@example.com", "*", NOW + timedelta(days=1)),
        ]
    )
    asked = [
        "<A@Example.COM>",
        "b@example.com",
        "c@example.com",
        "d@example.com",
        "e@example.com",
        "not an address",
    ]
    assert index.suppressed(asked, "*", NOW) == [0, 3, 5]
    assert index.suppressed(asked, "news", NOW) == [0, 1, 3, 5]
    assert index.suppressed(asked, "billing", NOW) == [0, 3, 5]


def test_overlay_overrides_and_compaction_keeps_the_answer() -> None:
    index = index_of([("a@example.com", "*", None), ("b@example.com", "*", None)])
    index.update("a@example.com", [])  # lifted
    index.update("c@example.com", [active("*")])  # new
    index.update("b@example.com", [active("news")])  # only a topic now
    asked = ["a@example.com", "b@example.com", "c@example.com"]
    before = (index.suppressed(asked, "*", NOW), index.suppressed(asked, "news", NOW))
    assert before == ([2], [1, 2])
    index.compact()
    assert (index.suppressed(asked, "*", NOW), index.suppressed(asked, "news", NOW)) == before
    assert len(index) == 2 and index.nbytes == 2 * 20


def test_index_agrees_with_the_ledger(engine: Engine, tenant: str, clock: Clock) -> None:
    ledger = Ledger(engine, tenant, settings_mod.load(env={}), clock=clock)
    rng = random.Random(5)
    addresses = [f"user{n}@example.org" for n in range(60)]
    for address in addresses:
        choice = rng.randrange(5)
        if choice == 0:
            ledger.apply(Feedback(address, "bounce", "t", reason="userunknown", reply_code="550"))
        elif choice == 1:
            ledger.apply(Feedback(address, "unsubscribe", "t", scope="news"))
        elif choice == 2:
            ledger.suppress(address, "manual", actor="op")
            if rng.random() < 0.5:
                ledger.lift(address, note="back", actor="op")
    rows = ledger.find(SuppressionFilter(), limit=10_000)
    index = index_of([(r.address, r.scope, r.expires_at) for r in rows])
    for scope in ("*", "news", "billing"):
        expected = [n for n, r in enumerate(ledger.check(addresses, scope)) if r.verdict == "suppressed"]
        assert index.suppressed(addresses, scope, clock.now) == expected


def test_batch_fast_path_gives_each_address_its_own_canonical_form() -> None:
    index = index_of([("a@example.com", "*", None), ("c@example.com", "*", None)])
    # All in canonical shape but for case: the batch path.
    assert index.suppressed(["A@Example.com", "b@example.com", "C@EXAMPLE.COM"], "*", NOW) == [0, 2]
    # A newline inside one entry must not let two addresses pass as one line each.
    assert index.suppressed(["a@example.com\nc@example.com", "b@example.com"], "*", NOW) == [0]
    assert index.suppressed(["b@example.com", " a@example.com "], "*", NOW) == [1]
    assert index.suppressed([], "*", NOW) == []


@given(st.lists(st.sampled_from(["a@example.com", "A@EXAMPLE.COM", "b@example.com", " a@example.com",
                                 "a@example.com\n", "\n", "", "a@@example.com", "x@y.z", "İ@example.com",
                                 "c@ex-.com", "d@example.com"]), max_size=8))
def test_batch_and_one_by_one_agree(batch: list[str]) -> None:
    index = index_of([("a@example.com", "*", None), ("d@example.com", "*", None)])
    one_by_one = [n for n, address in enumerate(batch) if index.suppressed([address], "*", NOW)]
    assert index.suppressed(batch, "*", NOW) == one_by_one
