"""Every policy rule, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine

from postwarden import settings as settings_mod
from postwarden.errors import InvalidAddress, InvalidInput, NotFound, PolicyRefused
from postwarden.ledger import Consent, Feedback, Ledger
from postwarden.ledger.service import SuppressionFilter
from tests.conftest import Clock


def bounce(address: str, reason: str, code: str = "550", status: str = "5.1.1", **kw: object) -> Feedback:
    return Feedback(address=address, kind="bounce", source="test", reason=reason, reply_code=code,
                    status=status, diagnostic=f"{code} {status} {reason}", **kw)  # type: ignore[arg-type]


def verdict(ledger: Ledger, address: str, scope: str = "*") -> str:
    return ledger.check([address], scope)[0].verdict


def actions(ledger: Ledger, address: str) -> list[str]:
    return [e.action for e in ledger.audit_for(address)]


GOOD_CONSENT = Consent("Dana at support", "phone", "Recipient called: 'I clicked spam by mistake'", "T-42")


# ---- complaints -------------------------------------------------------------------------

def test_complaint_suppresses_all_mail_at_once_without_expiry(ledger: Ledger) -> None:
    out = ledger.apply(Feedback("Reader@Example.com", "complaint", "fbl", feedback_type="abuse",
                                scope="newsletter"))
    assert (out.effect, out.reason_class, out.scope) == ("suppress", "complaint", "*")
    result = ledger.check(["reader@example.com"], "billing")[0]
    assert result.verdict == "suppressed" and result.reason_class == "complaint"
    assert result.expires_at is None and result.lift == "consent"


@pytest.mark.parametrize("consent", [None, Consent("", "phone", "said yes"),
                                     Consent("Dana", "carrier-pigeon", "said yes"),
                                     Consent("Dana", "email", "  ")])
def test_complaint_is_not_lifted_without_full_consent(ledger: Ledger, consent: Consent | None) -> None:
    ledger.apply(Feedback("reader@example.com", "complaint", "fbl", feedback_type="abuse"))
    with pytest.raises(PolicyRefused) as refused:
        ledger.lift("reader@example.com", note="customer asked", actor="operator:dana", consent=consent)
    assert "consent" in refused.value.message
    assert verdict(ledger, "reader@example.com") == "suppressed"
    assert actions(ledger, "reader@example.com") == ["created", "lift_refused"]


def test_complaint_is_lifted_with_recorded_consent(ledger: Ledger) -> None:
    ledger.apply(Feedback("reader@example.com", "complaint", "fbl", feedback_type="fraud"))
    ledger.lift("reader@example.com", note="recipient confirmed", actor="operator:dana",
                consent=GOOD_CONSENT)
    assert verdict(ledger, "reader@example.com") == "allowed"
    lifted = ledger.audit_for("reader@example.com")[-1]
    assert lifted.action == "lifted" and lifted.actor == "operator:dana"
    for value in ("Dana at support", "phone", "T-42", "by mistake"):
        assert value in lifted.evidence


def test_arf_opt_out_is_an_unsubscribe_and_auth_failure_an_alert(ledger: Ledger) -> None:
    out = ledger.apply(Feedback("a@example.com", "complaint", "fbl", feedback_type="opt-out"))
    assert out.reason_class == "unsubscribe"
    out = ledger.apply(Feedback("b@example.com", "complaint", "fbl", feedback_type="auth-failure"))
    assert out.effect == "alert" and verdict(ledger, "b@example.com") == "allowed"


# ---- hard bounces -------------------------------------------------------------------------

@pytest.mark.parametrize("reason", ["userunknown", "hostunknown", "hasmoved", "notaccept"])
def test_hard_bounce_suppresses_at_the_first(ledger: Ledger, reason: str) -> None:
    out = ledger.apply(bounce("gone@example.com", reason))
    assert (out.effect, out.reason_class) == ("suppress", "hard_bounce")
    result = ledger.check(["gone@example.com"])[0]
    assert result.reason == reason and result.lift == "recheck"


def test_hard_reason_with_a_temporary_code_is_only_soft(ledger: Ledger) -> None:
    out = ledger.apply(bounce("maybe@example.com", "userunknown", code="450", status="4.1.1"))
    assert (out.effect, out.reason_class) == ("count", "soft_bounce")
    assert verdict(ledger, "maybe@example.com") == "allowed"


def test_hard_bounce_lifted_then_failing_again_is_suppressed_again(ledger: Ledger, clock: Clock) -> None:
    ledger.apply(bounce("typo@example.com", "userunknown"))
    ledger.lift("typo@example.com", note="address corrected by the customer", actor="operator:sam")
    assert verdict(ledger, "typo@example.com") == "allowed"
    clock.advance(days=1)
    ledger.apply(Feedback("typo@example.com", "bounce", "test", reason="userunknown", reply_code="550",
                          status="5.1.1", diagnostic="550 5.1.1 still no such user"))
    assert verdict(ledger, "typo@example.com") == "suppressed"
    trail = ledger.audit_for("typo@example.com")
    assert [e.action for e in trail] == ["created", "lifted", "created"]
    assert "suppressed again" in trail[-1].note and "time 2" in trail[-1].note
    row = ledger.suppressions_for("typo@example.com")[0]
    assert row.times_suppressed == 2


# ---- soft bounces --------------------------------------------------------------------------

def soft(address: str, n: int) -> Feedback:
    return Feedback(address, "bounce", "test", reason="mailboxfull", reply_code="452", status="4.2.2",
                    diagnostic=f"mailbox full #{n}")


def test_soft_bounces_suppress_past_the_threshold_and_expire(ledger: Ledger, clock: Clock) -> None:
    for n in range(4):
        assert ledger.apply(soft("full@example.com", n)).effect == "count"
        clock.advance(days=2)
    out = ledger.apply(soft("full@example.com", 4))
    assert (out.effect, out.reason_class) == ("suppress", "soft_bounce")
    result = ledger.check(["full@example.com"])[0]
    assert result.verdict == "suppressed"
    assert result.expires_at == clock.now + timedelta(days=30)
    clock.advance(days=30, seconds=1)
    assert verdict(ledger, "full@example.com") == "allowed"
    assert ledger.expire_due() == 1
    assert actions(ledger, "full@example.com") == ["created", "expired"]


def test_soft_bounces_outside_the_window_do_not_count(ledger: Ledger, clock: Clock) -> None:
    for n in range(4):
        ledger.apply(soft("slow@example.com", n))
    clock.advance(days=15)
    assert ledger.apply(soft("slow@example.com", 9)).effect == "count"


def test_a_delivery_resets_the_soft_bounce_count(ledger: Ledger, clock: Clock) -> None:
    for n in range(4):
        ledger.apply(soft("reset@example.com", n))
        clock.advance(hours=1)
    ledger.apply(Feedback("reset@example.com", "delivered", "test", message_id="<m1@x>"))
    clock.advance(hours=1)
    assert ledger.apply(soft("reset@example.com", 5)).effect == "count"


def test_soft_threshold_is_configurable(engine: Engine, tenant: str, clock: Clock) -> None:
    strict = settings_mod.load(env={"POSTWARDEN_POLICY": '{"soft_bounce": {"suppress_after": 2}}'})
    ledger = Ledger(engine, tenant, strict, clock=clock)
    assert ledger.apply(soft("c@example.com", 1)).effect == "count"
    assert ledger.apply(soft("c@example.com", 2)).effect == "suppress"


# ---- sender-side failures and auto-replies --------------------------------------------------

@pytest.mark.parametrize("reason", ["blocked", "badreputation", "authfailure", "requireptr",
                                    "spamdetected", "policyviolation", "speeding", "toomanyconn",
                                    "norelaying", "rejected"])
def test_sender_side_failures_never_suppress_and_are_alerts(ledger: Ledger, reason: str) -> None:
    out = ledger.apply(bounce("fine@example.com", reason, status="5.7.1"))
    assert out.effect == "alert"
    assert verdict(ledger, "fine@example.com") == "allowed"
    alerts = ledger.alerts()
    assert [(a.address, a.reason) for a in alerts] == [("fine@example.com", reason)]


def test_auto_replies_and_delays_never_suppress(ledger: Ledger) -> None:
    for kind in ("autoreply", "delay"):
        assert ledger.apply(Feedback("away@example.com", kind, "test", reason="vacation")).effect == "record"
    assert verdict(ledger, "away@example.com") == "allowed"
    assert ledger.audit_for("away@example.com") == []


# ---- unsubscribes -------------------------------------------------------------------------

def test_unsubscribe_suppresses_its_scope_and_only_resubscription_lifts(ledger: Ledger) -> None:
    ledger.apply(Feedback("fan@example.com", "unsubscribe", "one-click", scope="newsletter"))
    assert verdict(ledger, "fan@example.com", "newsletter") == "suppressed"
    assert verdict(ledger, "fan@example.com", "billing") == "allowed"
    assert verdict(ledger, "fan@example.com") == "allowed"
    with pytest.raises(PolicyRefused, match="re-subscription"):
        ledger.lift("fan@example.com", note="sales wants them back", actor="operator:x",
                    consent=GOOD_CONSENT)
    ledger.resubscribe("fan@example.com", scope="newsletter", evidence="form 7 submitted",
                       actor="web:subscribe-form")
    assert verdict(ledger, "fan@example.com", "newsletter") == "allowed"
    assert actions(ledger, "fan@example.com") == ["created", "lift_refused", "resubscribed"]


def test_unsubscribe_from_all_mail_blocks_every_topic(ledger: Ledger) -> None:
    ledger.apply(Feedback("all@example.com", "unsubscribe", "one-click", scope="*"))
    assert verdict(ledger, "all@example.com", "newsletter") == "suppressed"


# ---- manual, idempotence, several classes ---------------------------------------------------

def test_manual_suppression_is_lifted_by_an_operator(ledger: Ledger) -> None:
    ledger.suppress("vip@example.com", "manual", note="asked by phone", actor="operator:kim")
    assert verdict(ledger, "vip@example.com") == "suppressed"
    ledger.lift("vip@example.com", note="asked again", actor="operator:kim")
    assert verdict(ledger, "vip@example.com") == "allowed"


def test_applying_the_same_feedback_twice_changes_nothing(ledger: Ledger) -> None:
    raw = b"From: MAILER-DAEMON\r\nSubject: failure\r\n\r\n550 5.1.1 no such user\r\n"
    fb = Feedback("twice@example.com", "bounce", "smtp", reason="userunknown", reply_code="550",
                  status="5.1.1", raw=raw)
    first, second = ledger.apply(fb), ledger.apply(fb)
    assert first.effect == "suppress" and second.effect == "duplicate"
    assert len(ledger.audit_for("twice@example.com")) == 1
    assert len(ledger.events_for("twice@example.com")) == 1
    assert ledger.verify_audit() is None


def test_strongest_class_is_reported_and_each_lifts_by_its_own_rule(ledger: Ledger) -> None:
    ledger.apply(bounce("both@example.com", "userunknown"))
    ledger.apply(Feedback("both@example.com", "complaint", "fbl", feedback_type="abuse"))
    assert ledger.check(["both@example.com"])[0].reason_class == "complaint"
    with pytest.raises(PolicyRefused):
        ledger.lift("both@example.com", note="fixed", actor="op")
    assert ledger.check(["both@example.com"])[0].reason_class == "complaint"
    ledger.lift("both@example.com", note="fixed and confirmed", actor="op", consent=GOOD_CONSENT)
    assert verdict(ledger, "both@example.com") == "allowed"


def test_addresses_are_normalised_everywhere(ledger: Ledger) -> None:
    ledger.suppress(" <Mixed.Case@EXAMPLE.org> ", "manual", actor="op")
    assert ledger.check(["mixed.case@example.org", "MIXED.CASE@example.ORG"])[1].verdict == "suppressed"


def test_bad_input_is_refused_clearly_and_changes_nothing(ledger: Ledger) -> None:
    with pytest.raises(InvalidAddress):
        ledger.suppress("not-an-address", "manual", actor="op")
    with pytest.raises(InvalidInput, match="reason class"):
        ledger.suppress("a@example.com", "whim", actor="op")
    with pytest.raises(InvalidInput, match="scope"):
        ledger.suppress("a@example.com", "manual", scope="news letter!", actor="op")
    with pytest.raises(NotFound):
        ledger.lift("a@example.com", note="x", actor="op")
    assert ledger.find() == [] and ledger.audit_for() == []


def test_check_reports_invalid_addresses_in_place(ledger: Ledger) -> None:
    results = ledger.check(["ok@example.com", "nonsense", "ok@example.com"])
    assert [r.verdict for r in results] == ["allowed", "suppressed", "allowed"]
    assert results[1].reason_class == "invalid" and results[1].error


def test_list_filters(ledger: Ledger, clock: Clock) -> None:
    ledger.suppress("a@shop.example", "manual", actor="op")
    clock.advance(days=3)
    ledger.apply(bounce("b@shop.example", "userunknown"))
    ledger.apply(Feedback("c@other.example", "unsubscribe", "t", scope="newsletter"))
    addresses = lambda flt: sorted(r.address for r in ledger.find(flt))  # noqa: E731
    assert addresses(SuppressionFilter(reason_classes=["hard_bounce"])) == ["b@shop.example"]
    assert addresses(SuppressionFilter(match="*@shop.example")) == ["a@shop.example", "b@shop.example"]
    assert addresses(SuppressionFilter(scope="newsletter")) == ["c@other.example"]
    assert addresses(SuppressionFilter(since=clock.now - timedelta(days=1))) == [
        "b@shop.example", "c@other.example"]
    assert addresses(SuppressionFilter(bounce_reason="userunknown")) == ["b@shop.example"]
    assert ledger.count_by_class() == {"manual": 1, "hard_bounce": 1, "unsubscribe": 1}
