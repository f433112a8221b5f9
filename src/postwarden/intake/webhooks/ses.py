"""Amazon SES notifications through an Amazon SNS HTTPS subscription: one SNS message
per request, whose ``Message`` is the SES notification (Bounce, Complaint, Delivery;
with event publishing also DeliveryDelay). Raw message delivery (the SES JSON with no
SNS envelope) is read too.

Two checks, both required: HTTP basic auth given in the subscription's URL (it binds
the request to the tenant's own subscription), and SNS's message signature (it
proves SNS sent it; :mod:`~postwarden.intake.webhooks.sns`), unless
``sns_verify_signatures`` is off for an installation that cannot reach AWS."""

from __future__ import annotations

import functools
import json
import re
from collections import Counter
from collections.abc import Mapping
from typing import Any, NamedTuple

from postwarden.intake.webhooks import (
    Fields,
    Handshake,
    MalformedPayload,
    Translation,
    WebhookProvider,
    basic_auth,
    basic_secret,
    bounce_fields,
    each_object,
    evidence,
    load_json,
    sns,
)
from postwarden.ledger.feedback import Feedback
from postwarden.settings import Settings

NAME = "ses"
HANDSHAKES = ("SubscriptionConfirmation", "UnsubscribeConfirmation")
_SNS_HOST = re.compile(r"https://sns\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?/")


class Rule(NamedTuple):
    """What one SES ``bounceType``/``bounceSubType`` pair means: whether SES gave up
    for good, the reason SES names, the reason when the text names none, the reason
    to use because the sender (not the address) was refused; ``ignore`` marks SES
    declining to send because of the account's own suppression list."""

    permanent: bool | None = None
    reason: str | None = None
    fallback: str | None = None
    sender_side: str | None = None
    ignore: bool = False


BOUNCE_TYPES: dict[tuple[str, str], Rule] = {
    ("Permanent", "General"): Rule(True),
    ("Permanent", "NoEmail"): Rule(True, fallback="userunknown"),
    # SES's global list: the address recently bounced as invalid for other senders too.
    ("Permanent", "Suppressed"): Rule(True, reason="userunknown"),
    ("Permanent", "OnAccountSuppressionList"): Rule(True, ignore=True),
    ("Transient", "General"): Rule(False),
    ("Transient", "MailboxFull"): Rule(False, fallback="mailboxfull"),
    ("Transient", "MessageTooLarge"): Rule(False, fallback="mesgtoobig"),
    ("Transient", "ContentRejected"): Rule(False, sender_side="policyviolation"),
    ("Transient", "AttachmentRejected"): Rule(False, sender_side="policyviolation"),
}


def authenticate(headers: Mapping[str, str], body: bytes, secret: str) -> None:
    basic_auth(headers, secret, "Amazon SNS")


def verify(headers: Mapping[str, str], body: bytes, settings: Settings) -> None:
    if settings.sns_verify_signatures:
        sns.verify(body, certificates(str(settings.sns_cert_host_pattern), str(settings.sns_cert_ca_file)))


@functools.cache
def certificates(host_pattern: str, ca_file: str) -> sns.SigningCertificates:
    """One certificate cache per process for each pair of settings."""
    return sns.SigningCertificates(host_pattern, ca_file)


def handshake(headers: Mapping[str, str], body: bytes) -> Handshake | None:
    kind = headers.get("x-amz-sns-message-type")
    if kind is not None and kind not in HANDSHAKES:
        return None
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict) or data.get("Type") not in HANDSHAKES:
        return None
    message = Fields(data, "the SNS message")
    url = message.text("SubscribeURL")
    if url is not None and not _SNS_HOST.match(url):
        raise MalformedPayload(f"the SubscribeURL {url[:200]!r} is not an https address of Amazon SNS: "
                               "not visited")
    return Handshake(kind=str(data["Type"]), topic=message.text("TopicArn") or "", confirm_url=url,
                     message_id=message.text("MessageId"))


def translate(body: bytes) -> Translation:
    outer = Fields(load_json(body), "the body")
    sns_type = outer.text("Type")
    if sns_type in HANDSHAKES:
        return Translation(events=1, ignored=Counter({sns_type: 1}))
    if sns_type == "Notification":
        inner = load_json((outer.text("Message", required=True) or "").encode())
        note = Fields(inner, "the SNS Message")
    elif sns_type is None and ("notificationType" in outer.data or "eventType" in outer.data):
        note = outer  # raw message delivery
    else:
        raise MalformedPayload("neither an SNS Notification nor an SES notification: expected "
                               "Type 'Notification' or a notificationType")
    return _notification(note, outer.text("MessageId"))


def _notification(note: Fields, sns_id: str | None) -> Translation:
    kind = note.text("notificationType") or note.text("eventType", required=True) or ""
    mail = note.obj("mail", required=True)
    assert mail is not None
    ses_id = mail.text("messageId", required=True) or ""
    headers = mail.obj("commonHeaders")
    base = _Base(ses_id, (headers.text("messageId") if headers else None) or ses_id,
                 evidence(note.data), {"ses_message_id": ses_id, "sns_message_id": sns_id,
                                       "notification": kind, "source": mail.text("source")})
    out = Translation()
    build = _BUILDERS.get(kind)
    if build is None:
        out.events = 1
        out.ignored[kind] += 1
        return out
    build(note, base, out)
    return out


class _Base(NamedTuple):
    ses_id: str
    message_id: str
    raw: bytes
    details: dict[str, str | None]

    def feedback(self, address: str, kind: str, occurred: Any, extra: Mapping[str, Any] | None = None,
                 key_suffix: str = "", **fields: Any) -> Feedback:
        details = {**self.details, **(extra or {})}
        return Feedback(
            address=address, kind=kind, source=PROVIDER.source, occurred_at=occurred,
            message_id=self.message_id, raw=self.raw, raw_content_type="application/json",
            idempotency_key=f"{self.ses_id}:{address}:{kind}{key_suffix}",
            details={k: v for k, v in details.items() if v}, **fields,
        )


def _bounce(note: Fields, base: _Base, out: Translation) -> None:
    bounce = note.obj("bounce", required=True)
    assert bounce is not None
    bounce_type = bounce.text("bounceType") or "Undetermined"
    subtype = bounce.text("bounceSubType") or "Undetermined"
    rule = BOUNCE_TYPES.get((bounce_type, subtype), Rule(True if bounce_type == "Permanent" else None))
    occurred = bounce.iso_time("timestamp")
    for recipient in each_object(bounce.list("bouncedRecipients", required=True), "bounce.bouncedRecipients"):
        out.events += 1
        address = recipient.text("emailAddress", required=True) or ""
        if rule.ignore:
            out.ignored[f"Bounce:{subtype}"] += 1
            continue
        text = recipient.text("diagnosticCode")
        found = bounce_fields(text, status=recipient.text("status"), permanent=rule.permanent,
                              reason=rule.reason, fallback=rule.fallback, sender_side=rule.sender_side)
        out.feedbacks.append(base.feedback(
            address, "bounce", occurred,
            {"bounce_type": bounce_type, "bounce_subtype": subtype, "action": recipient.text("action"),
             "feedback_id": bounce.text("feedbackId"), "reporting_mta": bounce.text("reportingMTA")},
            reason=found.reason, status=found.status, reply_code=found.reply_code,
            hard_bounce=found.hard_bounce, diagnostic=text, remote_mta=bounce.text("remoteMtaIp")))


def _complaint(note: Fields, base: _Base, out: Translation) -> None:
    complaint = note.obj("complaint", required=True)
    assert complaint is not None
    subtype = complaint.text("complaintSubType")
    feedback_type = complaint.text("complaintFeedbackType") or "abuse"
    occurred = complaint.iso_time("timestamp")
    for recipient in each_object(complaint.list("complainedRecipients", required=True),
                                 "complaint.complainedRecipients"):
        out.events += 1
        address = recipient.text("emailAddress", required=True) or ""
        if subtype == "OnAccountSuppressionList":
            out.ignored["Complaint:OnAccountSuppressionList"] += 1
            continue
        out.feedbacks.append(base.feedback(
            address, "complaint", occurred,
            {"feedback_id": complaint.text("feedbackId"), "user_agent": complaint.text("userAgent")},
            feedback_type=feedback_type))


def _delivery(note: Fields, base: _Base, out: Translation) -> None:
    delivery = note.obj("delivery", required=True)
    assert delivery is not None
    occurred = delivery.iso_time("timestamp")
    for n, address in enumerate(delivery.list("recipients", required=True)):
        if not isinstance(address, str):
            raise MalformedPayload(f"delivery.recipients[{n}] is not a string")
        out.events += 1
        out.feedbacks.append(base.feedback(
            address, "delivered", occurred, {"reporting_mta": delivery.text("reportingMTA")},
            diagnostic=delivery.text("smtpResponse"), remote_mta=delivery.text("remoteMtaIp")))


def _delay(note: Fields, base: _Base, out: Translation) -> None:
    delay = note.obj("deliveryDelay", required=True)
    assert delay is not None
    occurred = delay.iso_time("timestamp")
    for recipient in each_object(delay.list("delayedRecipients", required=True),
                                 "deliveryDelay.delayedRecipients"):
        out.events += 1
        text = recipient.text("diagnosticCode")
        found = bounce_fields(text, status=recipient.text("status"), permanent=False)
        out.feedbacks.append(base.feedback(
            recipient.text("emailAddress", required=True) or "", "delay", occurred,
            {"delay_type": delay.text("delayType")}, key_suffix=f":{delay.text('timestamp')}",
            reason=found.reason, status=found.status, reply_code=found.reply_code, diagnostic=text,
            remote_mta=delay.text("reportingMTA")))


_BUILDERS = {"Bounce": _bounce, "Complaint": _complaint, "Delivery": _delivery, "DeliveryDelay": _delay}


PROVIDER = WebhookProvider(
    name=NAME,
    description="Amazon SES notifications through an Amazon SNS HTTPS subscription (HTTP basic auth "
                "and the SNS message signature)",
    secret_kind="basic",
    secret_help="credentials you choose as user:password (leave --value out to have one made); subscribe "
                "the SNS topic to the URL from `postwarden webhook url --provider ses`, which carries them",
    authenticate=authenticate,
    translate=translate,
    handshake=handshake,
    verify=verify,
    check_secret=basic_secret,
)
