"""Each provider's documented payloads, translated: one expectation row per feedback,
checked field by field by one runner; events with nothing for the ledger are counted
as ignored; malformed bodies say where they are wrong."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from postwarden.intake import webhooks
from postwarden.intake.webhooks import MalformedPayload
from postwarden.ledger import policy

from .support import fixture, sns

NOW = datetime(2026, 6, 1)

# address, kind, reason, status, reply_code, hard_bounce
Row = tuple[str, str, str | None, str | None, str | None, bool | None]

EXPECTED: dict[str, tuple[list[Row], dict[str, int]]] = {
    "sendgrid_batch.json": ([
        ("delivered@example.com", "delivered", None, None, None, None),
        ("deferred@example.com", "delay", None, None, None, None),
        ("unknown@example.com", "bounce", "userunknown", "5.1.1", "550", True),
        # type "blocked": the sender was refused, whatever the text says
        ("blocked@example.com", "bounce", "blocked", "5.7.1", "554", False),
        ("blockedunknown@example.com", "bounce", "blocked", "5.1.1", "550", False),
        ("full@example.com", "bounce", "mailboxfull", "4.2.2", "452", False),
        ("complainer@example.com", "complaint", None, None, None, None),
        ("leaver@example.com", "unsubscribe", None, None, None, None),
        ("groupleaver@example.com", "unsubscribe", None, None, None, None),
    ], {"dropped": 1, "open": 1, "click": 1, "processed": 1}),
    "mailgun_failed_permanent.json": (
        [("alice@example.com", "bounce", "userunknown", "5.1.1", "550", True)], {}),
    "mailgun_failed_temporary.json": (
        [("carol@example.net", "delay", "mailboxfull", "4.2.2", "452", False)], {}),
    "mailgun_failed_espblock.json": (
        [("dave@example.net", "bounce", "spamdetected", "5.7.1", "550", False)], {}),
    "mailgun_failed_suppress.json": ([], {"failed:suppress-bounce": 1}),
    "mailgun_delivered.json": ([("erin@example.org", "delivered", None, None, None, None)], {}),
    "mailgun_complained.json": ([("frank@example.org", "complaint", None, None, None, None)], {}),
    "mailgun_unsubscribed.json": ([("grace@example.org", "unsubscribe", None, None, None, None)], {}),
    "mailgun_opened.json": ([], {"opened": 1}),
    "postmark_hard_bounce.json": ([("john@example.com", "bounce", "userunknown", "5.1.1", "550", True)], {}),
    "postmark_soft_bounce.json": ([("kate@example.com", "bounce", "mailboxfull", "4.2.2", "452", False)], {}),
    "postmark_spam_notification.json": (
        [("liam@example.com", "bounce", "spamdetected", "5.7.1", "550", False)], {}),
    "postmark_spam_complaint.json": ([("mia@example.com", "complaint", None, None, None, None)], {}),
    "postmark_delivery.json": ([("john@example.com", "delivered", None, None, None, None)], {}),
    "postmark_subscription_change.json": ([("noah@example.com", "unsubscribe", None, None, None, None)], {}),
    "postmark_subscription_reactivated.json": ([], {"SubscriptionChange:reactivated": 1}),
    "postmark_open.json": ([], {"Open": 1}),
    "ses_bounce_permanent.json": ([
        ("jane@example.com", "bounce", "userunknown", "5.1.1", "550", True),
        ("richard@example.com", "bounce", "blocked", "5.7.1", "554", False),
    ], {}),
    "ses_bounce_transient.json": (
        [("olivia@example.com", "bounce", "mailboxfull", "4.2.2", "452", False)], {}),
    "ses_bounce_suppressed.json": ([("paul@example.com", "bounce", "userunknown", "5.1.1", None, True)], {}),
    "ses_bounce_account_list.json": ([], {"Bounce:OnAccountSuppressionList": 1}),
    "ses_complaint.json": ([("rachel@example.com", "complaint", None, None, None, None)], {}),
    "ses_delivery.json": ([("sam@example.com", "delivered", None, None, None, None),
                           ("tina@example.com", "delivered", None, None, None, None)], {}),
    "ses_event_delay.json": ([("uma@example.com", "delay", "networkerror", "4.4.1", "421", None)], {}),
    "ses_subscription_confirmation.json": ([], {"SubscriptionConfirmation": 1}),
}

# What the ledger's policy makes of each address above: never a suppression for a
# sender-side failure.
CLASSES = {
    "unknown@example.com": "hard_bounce", "blocked@example.com": "sender_side",
    "blockedunknown@example.com": "sender_side", "full@example.com": "soft_bounce",
    "dave@example.net": "sender_side", "liam@example.com": "sender_side",
    "richard@example.com": "sender_side", "jane@example.com": "hard_bounce",
    "paul@example.com": "hard_bounce", "john@example.com": None, "complainer@example.com": "complaint",
    "carol@example.net": "ignore", "uma@example.com": "ignore",
}


def _translate(name: str) -> webhooks.Translation:
    provider = name.split("_")[0]
    body = fixture(name)
    if provider == "ses" and not name.startswith("ses_subscription"):
        body = sns(body)
    return webhooks.get(provider).translate(body)


def test_every_fixture_has_expectations() -> None:
    from .support import FIXTURES
    assert {p.name for p in FIXTURES.glob("*.json")} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture(name: str) -> None:
    rows, ignored = EXPECTED[name]
    translation = _translate(name)
    prepared = webhooks.prepare(translation, NOW)
    got = [(f.address, f.kind, f.reason, f.status, f.reply_code, f.hard_bounce) for f in prepared.feedbacks]
    assert got == rows
    assert dict(translation.ignored) == ignored
    for feedback in prepared.feedbacks:
        assert feedback.source == f"webhook:{name.split('_')[0]}"
        assert feedback.idempotency_key, "every event carries the provider's id"
        assert feedback.occurred_at is not None and feedback.occurred_at.year == 2026
        assert feedback.raw is not None and isinstance(json.loads(feedback.raw), dict)
        if feedback.kind == "complaint":
            assert feedback.feedback_type == "abuse"
        expected_class = CLASSES.get(feedback.address)
        if expected_class is not None and feedback.kind == "bounce":
            assert policy.reason_class_of(feedback) == expected_class, feedback


def test_sendgrid_batch_details() -> None:
    prepared = webhooks.prepare(_translate("sendgrid_batch.json"), NOW)
    by_address = {f.address: f for f in prepared.feedbacks}
    assert by_address["groupleaver@example.com"].scope == "sendgrid-group:42"
    assert by_address["leaver@example.com"].scope == "*"
    assert by_address["unknown@example.com"].message_id == "m3"
    assert by_address["delivered@example.com"].message_id == "<14c5d75ce93.dfd.64b469@ismtpd-555>"
    assert [s.address for s in prepared.skipped] == ["not an address"]
    keys = [f.idempotency_key for f in prepared.feedbacks]
    assert len(set(keys)) == len(keys)


def test_raw_ses_delivery_without_the_sns_envelope() -> None:
    translation = webhooks.get("ses").translate(fixture("ses_complaint.json"))
    assert [(f.address, f.kind) for f in translation.feedbacks] == [("rachel@example.com", "complaint")]


def test_ses_keys_name_message_recipient_and_type() -> None:
    feedback = _translate("ses_bounce_permanent.json").feedbacks[0]
    assert feedback.idempotency_key == ("00000138111222aa-33322211-cccc-cccc-cccc-ddddaaaa0680-000000:"
                                        "jane@example.com:bounce")
    assert feedback.message_id == "<custom-id-1@example.org>"


def test_future_times_are_brought_back_to_now() -> None:
    body = json.dumps([{"email": "a@example.com", "event": "delivered", "sg_event_id": "x",
                        "timestamp": 4102444800}]).encode()
    prepared = webhooks.prepare(webhooks.get("sendgrid").translate(body), NOW)
    assert prepared.feedbacks[0].occurred_at == NOW


def test_codes_that_are_not_codes_go_to_details() -> None:
    body = json.dumps([{"email": "a@example.com", "event": "bounce", "sg_event_id": "x", "timestamp": 1,
                        "status": "5.0.0.0.0", "reason": "weird"}]).encode()
    feedback = webhooks.prepare(webhooks.get("sendgrid").translate(body), NOW).feedbacks[0]
    assert feedback.status is None
    assert feedback.details["provider_status"] == "5.0.0.0.0"


MALFORMED = [
    ("sendgrid", b"not json", "not valid JSON"),
    ("sendgrid", b'{"event": "bounce"}', "not a list"),
    ("sendgrid", b'[{"event": "bounce"}]', "event 0 has no 'email'"),
    ("sendgrid", b'[{"email": "a@example.com", "event": "delivered", "timestamp": "soon"}]', "Unix time"),
    ("sendgrid", b"[1]", "event 0 is not a JSON object"),
    ("sendgrid", b"\xff\xfe", "not UTF-8"),
    ("sendgrid", b"[" * 100_000, "nested too deeply"),
    ("sendgrid", b'[{"email": "a@example.com", "event": "delivered", "timestamp": NaN}]', "not valid JSON"),
    ("mailgun", b'{"signature": {}}', "no 'event-data'"),
    ("mailgun", b'{"event-data": {"event": "failed"}}', "has no 'recipient'"),
    ("mailgun", b'{"event-data": {"event": "failed", "recipient": ["a"]}}', "recipient is not a string"),
    ("postmark", b'{"RecordType": "Bounce", "Type": "HardBounce", "Email": "a@example.com"}', "no 'ID'"),
    ("postmark", b'{"RecordType": "Delivery", "MessageID": "m", "Recipient": "a@example.com", '
                 b'"DeliveredAt": "yesterday"}', "not an ISO 8601 time"),
    ("postmark", b"[]", "the body is not a JSON object"),
    ("ses", b'{"Type": "Notification", "Message": "{not json"}', "not valid JSON"),
    ("ses", b'{"Type": "Notification", "Message": "{\\"notificationType\\": \\"Bounce\\"}"}', "no 'mail'"),
    ("ses", b'{"hello": 1}', "neither an SNS Notification"),
]


@pytest.mark.parametrize(("provider", "body", "fragment"), MALFORMED)
def test_malformed(provider: str, body: bytes, fragment: str) -> None:
    with pytest.raises(MalformedPayload) as caught:
        webhooks.get(provider).translate(body)
    assert fragment in caught.value.message
    assert caught.value.http_status == 400
