"""Check again, on both databases against the loopback name server: a pass lifts, a
failure stays, complaints and unsubscribes are refused, and the audit log says who,
when and what the verification found."""

from __future__ import annotations

import asyncio
import json

import pytest

from postwarden.errors import NotFound, PolicyRefused
from postwarden.ledger import Consent, Feedback, Ledger
from postwarden.verify import Verifier
from postwarden.verify.recheck import Recheck, recheck
from tests.conftest import Clock
from tests.verify.conftest import Dns


def again(ledger: Ledger, verifier: Verifier, address: str, note: str = "") -> Recheck:
    return asyncio.run(recheck(ledger, verifier, address, actor="operator:dana", note=note))


def entries(ledger: Ledger, address: str) -> list[tuple[str, str | None, str, dict[str, object]]]:
    return [(e.action, e.reason_class, e.actor, json.loads(e.evidence)) for e in ledger.audit_for(address)]


@pytest.mark.parametrize("reason_class", ["invalid", "hard_bounce"])
def test_a_pass_lifts_and_the_audit_keeps_the_verification(ledger: Ledger, verifier: Verifier, clock: Clock,
                                                           reason_class: str) -> None:
    ledger.suppress("ann@good.net", reason_class, note="bounced", actor="system")
    clock.advance(days=3)
    found = again(ledger, verifier, "Ann@Good.net", note="customer says the mailbox is back")
    assert found.passed and [o.reason_class for o in found.lifted] == [reason_class] and not found.kept
    assert ledger.check(["ann@good.net"])[0].verdict == "allowed"
    action, cls, actor, evidence = entries(ledger, "ann@good.net")[-1]
    assert (action, cls, actor) == ("rechecked", reason_class, "operator:dana")
    verification = evidence["verification"]
    assert isinstance(verification, dict) and verification["verdict"] == "deliverable"
    assert verification["mail_hosts"] == ["mx1.good.net", "mx2.good.net"]
    last = ledger.audit_for("ann@good.net")[-1]
    assert last.at == clock.now and "customer says the mailbox is back" in last.note
    assert ledger.verify_audit() is None


def test_a_failure_stays_and_the_audit_says_why(ledger: Ledger, verifier: Verifier) -> None:
    ledger.suppress("ann@nowhere.net", "invalid", actor="system")
    found = again(ledger, verifier, "ann@nowhere.net")
    assert not found.passed and not found.lifted
    assert [o.action for o in found.kept] == ["recheck_failed"]
    assert ledger.check(["ann@nowhere.net"])[0].verdict == "suppressed"
    action, _, _, evidence = entries(ledger, "ann@nowhere.net")[-1]
    assert action == "recheck_failed"
    note = ledger.audit_for("ann@nowhere.net")[-1].note
    assert note.startswith("re-check failed: the domain does not exist")
    assert evidence["verification"]["reasons"] == ["no_such_domain"]  # type: ignore[index]


@pytest.mark.parametrize(("address", "reason"), [
    ("ann@slow.net", "dns_timeout"), ("ann@broken.net", "dns_failure"), ("ann@gmial.com", "typo")])
def test_what_cannot_be_verified_does_not_pass(ledger: Ledger, verifier: Verifier, address: str,
                                               reason: str) -> None:
    ledger.suppress(address, "hard_bounce", actor="system")
    found = again(ledger, verifier, address)
    assert not found.passed and reason in found.verification.reasons


def test_role_and_disposable_addresses_pass(ledger: Ledger, verifier: Verifier) -> None:
    ledger.suppress("postmaster@good.net", "invalid", actor="system")
    assert again(ledger, verifier, "postmaster@good.net").passed


@pytest.mark.parametrize(("reason_class", "words"), [
    ("complaint", "consent"), ("unsubscribe", "re-subscription")])
def test_complaints_and_unsubscribes_are_refused_with_the_reason(ledger: Ledger, dns: Dns, verifier: Verifier,
                                                                 reason_class: str, words: str) -> None:
    ledger.suppress("ann@good.net", reason_class, actor="system")
    with pytest.raises(PolicyRefused, match=words) as refused:
        again(ledger, verifier, "ann@good.net")
    assert "a re-check cannot lift ann@good.net" in refused.value.message
    assert entries(ledger, "ann@good.net")[-1][0] == "recheck_refused"
    assert dns.zone.total() == 0  # nothing to verify for
    assert ledger.check(["ann@good.net"])[0].verdict == "suppressed"


def test_a_complaint_beside_a_hard_bounce_stays(ledger: Ledger, verifier: Verifier) -> None:
    ledger.suppress("ann@good.net", "hard_bounce", actor="system")
    ledger.suppress("ann@good.net", "complaint", actor="system")
    found = again(ledger, verifier, "ann@good.net")
    assert found.passed and [o.reason_class for o in found.lifted] == ["hard_bounce"]
    assert [(o.reason_class, o.action) for o in found.kept] == [("complaint", "recheck_refused")]
    assert "consent" in found.kept[0].why
    assert ledger.check(["ann@good.net"])[0].reason_class == "complaint"
    ledger.lift("ann@good.net", note="confirmed", actor="op",
                consent=Consent("dana", "phone", "yes, send again"))
    assert ledger.check(["ann@good.net"])[0].verdict == "allowed"


def test_the_next_hard_bounce_suppresses_again(ledger: Ledger, verifier: Verifier) -> None:
    bounce = Feedback(address="ann@good.net", kind="bounce", source="test", reason="userunknown",
                      hard_bounce=True, status="5.1.1", reply_code="550", message_id="<1@x>")
    ledger.apply(bounce)
    assert again(ledger, verifier, "ann@good.net").passed
    ledger.apply(Feedback(address="ann@good.net", kind="bounce", source="test", reason="userunknown",
                          hard_bounce=True, status="5.1.1", reply_code="550", message_id="<2@x>"))
    assert ledger.check(["ann@good.net"])[0].reason_class == "hard_bounce"
    assert [r.times_suppressed for r in ledger.suppressions_for("ann@good.net")] == [2]


def test_nothing_suppressed_is_not_found(ledger: Ledger, verifier: Verifier) -> None:
    with pytest.raises(NotFound):
        again(ledger, verifier, "ann@good.net")
