"""Postmark webhooks: one record per request, told apart by ``RecordType`` (Bounce,
SpamComplaint, Delivery, SubscriptionChange, Open, Click). Postmark authenticates
with HTTP basic auth given in the webhook's URL."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from postwarden.intake.webhooks import (
    Fields,
    Translation,
    WebhookProvider,
    basic_auth,
    basic_secret,
    bounce_fields,
    evidence,
    load_json,
)
from postwarden.ledger.feedback import Feedback

NAME = "postmark"


class Rule(NamedTuple):
    """What one Postmark bounce ``Type`` means: our kind, whether Postmark gave up
    for good, the reason when the text names none, and the reason to use because
    the sender (not the address) was refused."""

    kind: str
    permanent: bool | None = None
    fallback: str | None = None
    sender_side: str | None = None


BOUNCE_TYPES: dict[str, Rule] = {
    "HardBounce": Rule("bounce", True),
    "BadEmailAddress": Rule("bounce", True, fallback="userunknown"),
    "AddressChange": Rule("bounce", True, fallback="hasmoved"),
    "SoftBounce": Rule("bounce", False),
    "DnsError": Rule("bounce", False, fallback="networkerror"),
    "Unknown": Rule("bounce"),
    "Transient": Rule("delay", False),
    "Blocked": Rule("bounce", False, sender_side="blocked"),
    "SpamNotification": Rule("bounce", False, sender_side="spamdetected"),
    "VirusNotification": Rule("bounce", False, sender_side="virusdetected"),
    "DMARCPolicy": Rule("bounce", False, sender_side="authfailure"),
    "AutoResponder": Rule("autoreply"),
    "ChallengeVerification": Rule("autoreply"),
    "Unsubscribe": Rule("unsubscribe"),
    "SpamComplaint": Rule("complaint"),
}
# Types that say nothing about the recipient (Subscribe, OpenRelayTest,
# ManuallyDeactivated, Unconfirmed, SMTPApiError, InboundError,
# TemplateRenderingFailed) are counted as ignored.


def authenticate(headers: Mapping[str, str], body: bytes, secret: str) -> None:
    basic_auth(headers, secret, "Postmark")


def translate(body: bytes) -> Translation:
    record = Fields(load_json(body), "the body")
    record_type = record.text("RecordType")
    if record_type is None and record.text("Type") is not None:
        record_type = "Bounce"  # bounce webhooks from before RecordType existed
    out = Translation(events=1)
    build = _BUILDERS.get(record_type or "")
    feedback = build(record, record_type or "") if build else None
    if feedback is None:
        label = record_type or "(no RecordType)"
        if record_type in ("Bounce", "SpamComplaint"):
            label = f"{record_type}:{record.text('Type')}"
        elif record_type == "SubscriptionChange":
            label = f"SubscriptionChange:{record.text('SuppressionReason') or 'reactivated'}"
        out.ignored[label] += 1
    else:
        out.feedbacks.append(feedback)
    return out


def _feedback(record: Fields, kind: str, address_key: str, time_key: str, key: str,
              **fields: Any) -> Feedback:
    details = {"record_type": record.text("RecordType"), "type": record.text("Type"),
               "id": record.text("ID"), "tag": record.text("Tag"),
               "message_stream": record.text("MessageStream"), "server_id": record.text("ServerID"),
               "origin": record.text("Origin")}
    return Feedback(
        address=record.text(address_key, required=True) or "", kind=kind, source=PROVIDER.source,
        occurred_at=record.iso_time(time_key), message_id=record.text("MessageID"),
        raw=evidence(record.data), raw_content_type="application/json", idempotency_key=key,
        details={k: v for k, v in details.items() if v}, **fields,
    )


def _bounce(record: Fields, record_type: str) -> Feedback | None:
    rule = BOUNCE_TYPES.get(record.text("Type", required=True) or "")
    if rule is None:
        return None
    record_id = record.text("ID", required=True)
    text = record.text("Details") or record.text("Description")
    key = f"{record_type}:{record_id}"
    if rule.kind != "bounce" and rule.kind != "delay":
        return _feedback(record, rule.kind, "Email", "BouncedAt", key, diagnostic=text,
                         feedback_type="abuse" if rule.kind == "complaint" else None)
    found = bounce_fields(text, permanent=rule.permanent, fallback=rule.fallback,
                          sender_side=rule.sender_side)
    return _feedback(record, rule.kind, "Email", "BouncedAt", key, diagnostic=text, reason=found.reason,
                     status=found.status, reply_code=found.reply_code, hard_bounce=found.hard_bounce)


def _delivery(record: Fields, record_type: str) -> Feedback:
    key = f"Delivery:{record.text('MessageID')}:{record.text('Recipient')}"
    return _feedback(record, "delivered", "Recipient", "DeliveredAt", key, diagnostic=record.text("Details"))


def _subscription_change(record: Fields, record_type: str) -> Feedback | None:
    if not record.flag("SuppressSending"):
        return None  # a reactivation: recorded only through `postwarden resubscribe` or a lift
    reason = record.text("SuppressionReason")
    key = (f"SubscriptionChange:{record.text('MessageID')}:{record.text('Recipient')}:"
           f"{record.text('ChangedAt')}")
    note = f"Postmark suppressed the address ({reason}, origin {record.text('Origin')})"
    if reason == "HardBounce":
        return _feedback(record, "bounce", "Recipient", "ChangedAt", key, hard_bounce=True, diagnostic=note)
    if reason == "SpamComplaint":
        return _feedback(record, "complaint", "Recipient", "ChangedAt", key, feedback_type="abuse",
                         diagnostic=note)
    if reason == "ManualSuppression" and record.text("Origin") == "Recipient":
        return _feedback(record, "unsubscribe", "Recipient", "ChangedAt", key, diagnostic=note)
    return None  # suppressed by the sender's own staff in Postmark: nothing the recipient said


_BUILDERS = {
    "Bounce": _bounce,
    "SpamComplaint": _bounce,
    "Delivery": _delivery,
    "SubscriptionChange": _subscription_change,
}


PROVIDER = WebhookProvider(
    name=NAME,
    description="Postmark webhooks (Bounce, SpamComplaint, Delivery, SubscriptionChange; HTTP basic auth)",
    secret_kind="basic",
    secret_help="credentials you choose as user:password (leave --value out to have one made); give "
                "Postmark the URL from `postwarden webhook url --provider postmark`, which carries them",
    authenticate=authenticate,
    translate=translate,
    check_secret=basic_secret,
)
