"""The message history: recorded sends, and the status feedback moves them to."""

from __future__ import annotations

import pytest

from postwarden.errors import InvalidInput
from postwarden.gate.contact import contact_card
from postwarden.ledger import Feedback, Ledger
from postwarden.ledger.messages import SentMessage, message_ref
from tests.conftest import Clock


def sent(recipient: str, message_id: str, subject: str = "Your receipt", **kw: object) -> SentMessage:
    return SentMessage(message_id, recipient, "shop@sender.example", subject, **kw)  # type: ignore[arg-type]


def statuses(ledger: Ledger, address: str) -> list[tuple[str, str]]:
    return [(m.message_id, m.status) for m in ledger.messages_for(address)]


def test_recording_twice_changes_nothing(ledger: Ledger) -> None:
    both = [sent("Ann@Example.com", "<m1@shop>"), sent("bob@example.com", "m1@shop")]
    assert ledger.record_messages(both) == 2
    assert ledger.record_messages([sent("ann@example.com", "m1@shop")]) == 0
    assert statuses(ledger, "ann@example.com") == [("m1@shop", "sent")]


def test_bad_stream_and_missing_id_are_refused(ledger: Ledger) -> None:
    with pytest.raises(InvalidInput, match="stream"):
        ledger.record_messages([sent("a@example.com", "x@y", stream="promo")])
    with pytest.raises(InvalidInput, match="Message-ID"):
        ledger.record_messages([sent("a@example.com", "<>")])


def test_feedback_moves_the_named_message_forward_only(ledger: Ledger, clock: Clock) -> None:
    ledger.record_messages([sent("ann@example.com", "m1@shop"), sent("ann@example.com", "m2@shop")])
    ledger.apply(Feedback("ann@example.com", "delay", "test", message_id="<M1@shop>", reply_code="451"))
    assert dict(statuses(ledger, "ann@example.com")) == {"m1@shop": "deferred", "m2@shop": "sent"}
    ledger.apply(Feedback("ann@example.com", "bounce", "test", reason="userunknown", hard_bounce=True,
                          reply_code="550", status="5.1.1", diagnostic="550 5.1.1 no such user",
                          message_id="m1@shop"))
    clock.advance(minutes=5)
    # A delay notice arriving late must not undo the bounce.
    ledger.apply(Feedback("ann@example.com", "delay", "test", message_id="m1@shop", reply_code="421",
                          diagnostic="later"))
    by_id = {m.message_id: m for m in ledger.messages_for("ann@example.com")}
    m1, m2 = by_id["m1@shop"], by_id["m2@shop"]
    assert (m1.status, m1.status_code, m1.status_detail) == ("bounced", "550", "550 5.1.1 no such user")
    assert m2.status == "sent"


def test_a_verp_digest_names_the_message(ledger: Ledger) -> None:
    ledger.record_messages([sent("cat@example.com", "abc@shop")])
    ledger.apply(Feedback("cat@example.com", "complaint", "fbl", feedback_type="abuse",
                          message_id=f"ref:{message_ref('<ABC@shop>')}"))
    assert statuses(ledger, "cat@example.com") == [("abc@shop", "complained")]


def test_feedback_without_an_id_is_about_the_latest_message(ledger: Ledger, clock: Clock) -> None:
    ledger.record_messages([sent("dan@example.com", "old@shop")])
    clock.advance(hours=1)
    ledger.record_messages([sent("dan@example.com", "new@shop")])
    ledger.apply(Feedback("dan@example.com", "unsubscribe", "one-click", scope="newsletter"))
    assert statuses(ledger, "dan@example.com") == [("new@shop", "unsubscribed"), ("old@shop", "sent")]


def test_duplicate_feedback_and_autoreplies_leave_statuses(ledger: Ledger) -> None:
    ledger.record_messages([sent("eve@example.com", "e1@shop")])
    delivered = Feedback("eve@example.com", "delivered", "webhook", message_id="e1@shop",
                         idempotency_key="d-1")
    ledger.apply(delivered)
    ledger.apply(Feedback("eve@example.com", "autoreply", "smtp", message_id="e1@shop"))
    assert ledger.apply(delivered).effect == "duplicate"
    assert statuses(ledger, "eve@example.com") == [("e1@shop", "delivered")]


def test_contact_card_lists_messages_with_status(ledger: Ledger) -> None:
    ledger.record_messages([sent("fay@example.com", "f1@shop", subject="Welcome", stream="marketing",
                                 scope="newsletter")])
    ledger.apply(Feedback("fay@example.com", "bounce", "test", reason="mailboxfull", hard_bounce=False,
                          reply_code="452", status="4.2.2", message_id="f1@shop"))
    card = contact_card(ledger, "FAY@example.com")
    (message,) = card["messages"]
    assert message["subject"] == "Welcome" and message["stream"] == "marketing"
    assert (message["status"], message["status_code"]) == ("bounced", "452")
