"""Applying feedback in one batch gives the same ledger as applying it one by one."""

from __future__ import annotations

import random
from dataclasses import replace

from sqlalchemy import Engine

from postwarden import settings as settings_mod
from postwarden.ledger import Feedback, Ledger
from postwarden.ledger.tenants import create_tenant
from tests.conftest import Clock


def mixed_feedback(seed: int) -> list[Feedback]:
    rng = random.Random(seed)
    addresses = [f"user{n}@example.org" for n in range(6)]
    kinds = [
        lambda a: Feedback(a, "bounce", "t", reason="mailboxfull", reply_code="452", status="4.2.2"),
        lambda a: Feedback(a, "bounce", "t", reason="userunknown", reply_code="550", status="5.1.1"),
        lambda a: Feedback(a, "bounce", "t", reason="blocked", reply_code="554", status="5.7.1"),
        lambda a: Feedback(a, "delivered", "t"),
        lambda a: Feedback(a, "complaint", "t", feedback_type="abuse"),
        lambda a: Feedback(a, "unsubscribe", "t", scope="news"),
        lambda a: Feedback(a, "autoreply", "t"),
    ]
    weights = [6, 2, 2, 2, 1, 1, 1]
    items = [replace(rng.choices(kinds, weights)[0](rng.choice(addresses)), idempotency_key=f"e{n}")
             for n in range(100)]
    # Providers retry: some events arrive again, later in the same stream.
    for _ in range(20):
        items.insert(rng.randrange(len(items)), items[rng.randrange(len(items))])
    return items


def state(ledger: Ledger) -> tuple[object, ...]:
    rows = ledger.find(limit=10_000)
    return tuple(sorted((r.address, r.scope, r.reason_class, r.state, r.times_suppressed) for r in rows))


def test_one_batch_equals_one_by_one(engine: Engine, tenant: str, clock: Clock) -> None:
    settings = settings_mod.load(env={"POSTWARDEN_POLICY": '{"soft_bounce": {"suppress_after": 3}}'})
    for seed in range(3):
        one, many = f"{tenant}-a{seed}", f"{tenant}-b{seed}"
        create_tenant(engine, one)
        create_tenant(engine, many)
        sequential, batched = Ledger(engine, one, settings, clock), Ledger(engine, many, settings, clock)
        feedback = mixed_feedback(seed)
        effects_one = [sequential.apply(f).effect for f in feedback]
        effects_many = [o.effect for o in batched.apply_many(feedback)]
        assert effects_many == effects_one
        assert state(batched) == state(sequential)
        assert "duplicate" in effects_one and "suppress" in effects_one and "count" in effects_one
        assert batched.verify_audit() is None
        again = batched.apply_many(feedback)
        assert {o.effect for o in again} == {"duplicate"}

