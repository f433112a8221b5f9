"""The audit chain detects tampering; tenants never see each other's data."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text

from postwarden import settings as settings_mod
from postwarden.errors import Conflict, NotFound, Unauthorized
from postwarden.ledger import Feedback, Ledger
from postwarden.ledger.tenants import create_api_key, create_tenant, tenant_for_key
from tests.conftest import Clock


def filled(ledger: Ledger) -> Ledger:
    ledger.suppress("one@example.com", "manual", actor="op", note="first")
    ledger.apply(Feedback("two@example.com", "bounce", "t", reason="userunknown", reply_code="550"))
    ledger.lift("one@example.com", note="back", actor="op")
    ledger.suppress("three@example.com", "invalid", actor="op")
    assert ledger.verify_audit() is None
    return ledger


def run(engine: Engine, sql: str, **params: object) -> None:
    with engine.begin() as conn:
        conn.execute(text(sql), params)


def test_verify_catches_an_altered_entry(ledger: Ledger) -> None:
    filled(ledger)
    run(ledger.engine, "UPDATE audit_log SET note = 'nothing to see' WHERE tenant_id = :t AND seq = 2",
        t=ledger.tenant_id)
    problem = ledger.verify_audit()
    assert problem is not None and problem.seq == 2 and "altered" in problem.problem


def test_verify_catches_an_altered_actor_even_with_hash_recomputed_naively(ledger: Ledger) -> None:
    filled(ledger)
    run(ledger.engine, "UPDATE audit_log SET actor = 'system', entry_hash = :h "
        "WHERE tenant_id = :t AND seq = 3", t=ledger.tenant_id, h="f" * 64)
    problem = ledger.verify_audit()
    assert problem is not None and problem.seq in (3, 4)


def test_verify_catches_a_removed_entry(ledger: Ledger) -> None:
    filled(ledger)
    run(ledger.engine, "DELETE FROM audit_log WHERE tenant_id = :t AND seq = 2", t=ledger.tenant_id)
    problem = ledger.verify_audit()
    assert problem is not None and "removed or inserted" in problem.problem


def test_verify_catches_the_newest_entry_removed(ledger: Ledger) -> None:
    filled(ledger)
    run(ledger.engine, "DELETE FROM audit_log WHERE tenant_id = :t AND seq = 4", t=ledger.tenant_id)
    problem = ledger.verify_audit()
    assert problem is not None and "head" in problem.problem


def test_verify_catches_an_inserted_entry(ledger: Ledger) -> None:
    filled(ledger)
    run(ledger.engine, "UPDATE audit_log SET seq = seq + 1 WHERE tenant_id = :t AND seq >= 3 "
        "AND seq = (SELECT MAX(seq) FROM audit_log WHERE tenant_id = :t)", t=ledger.tenant_id)
    run(ledger.engine, "INSERT INTO audit_log (tenant_id, seq, at, actor, action, address, scope, "
        "reason_class, note, evidence, prev_hash, entry_hash) SELECT tenant_id, 4, at, actor, 'lifted', "
        "address, scope, reason_class, 'forged', evidence, entry_hash, entry_hash FROM audit_log "
        "WHERE tenant_id = :t AND seq = 3", t=ledger.tenant_id)
    assert ledger.verify_audit() is not None


def test_tenants_never_see_each_other(engine: Engine, tenant: str, clock: Clock) -> None:
    other = tenant + "-other"
    create_tenant(engine, other)
    settings = settings_mod.load(env={})
    mine, theirs = Ledger(engine, tenant, settings, clock), Ledger(engine, other, settings, clock)
    mine.apply(Feedback("shared@example.com", "complaint", "fbl", feedback_type="abuse"))
    assert mine.check(["shared@example.com"])[0].verdict == "suppressed"
    assert theirs.check(["shared@example.com"])[0].verdict == "allowed"
    assert theirs.find() == [] and theirs.audit_for() == [] and theirs.events_for("shared@example.com") == []
    with pytest.raises(NotFound):
        theirs.lift("shared@example.com", note="x", actor="op")
    assert theirs.verify_audit() is None and mine.verify_audit() is None


def test_api_keys_map_to_their_tenant_and_are_stored_hashed(engine: Engine, tenant: str) -> None:
    key = create_api_key(engine, tenant, label="ci")
    assert tenant_for_key(engine, key) == tenant
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT key_hash FROM api_keys")).scalars().all()
    assert key not in stored
    with pytest.raises(Unauthorized):
        tenant_for_key(engine, key + "x")


def test_duplicate_tenant_and_unknown_tenant_are_clear_errors(engine: Engine, tenant: str) -> None:
    with pytest.raises(Conflict):
        create_tenant(engine, tenant)
    with pytest.raises(NotFound, match="tenant create"):
        Ledger(engine, "no-such-tenant")
