"""Twilio SendGrid's Event Webhook: a JSON list of events per request, signed with
ECDSA P-256 over the timestamp header followed by the raw body ("Signed Event
Webhook Requests"; the tenant stores the verification key SendGrid shows)."""

from __future__ import annotations

import base64
import binascii
import functools
import re
from collections.abc import Callable, Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_public_key, load_pem_public_key

from postwarden.errors import InvalidInput, Unauthorized
from postwarden.intake.webhooks import (
    Fields,
    MalformedPayload,
    Translation,
    WebhookProvider,
    bounce_fields,
    evidence,
    load_json,
)
from postwarden.ledger.feedback import Feedback

NAME = "sendgrid"
SIGNATURE = "x-twilio-email-event-webhook-signature"
TIMESTAMP = "x-twilio-email-event-webhook-timestamp"

# bounce_classification values that say the sender, not the address, was refused.
SENDER_SIDE_CLASSES = {
    "Reputation": "badreputation",
    "Content": "spamdetected",
    "Frequency or Volume Too High": "speeding",
}
# ...and those that name a reason when the SMTP text names none.
RECIPIENT_CLASSES = {"Invalid Address": "userunknown", "Mailbox Unavailable": "suspend"}

# Events that carry nothing for the ledger. "dropped" is SendGrid declining to send
# because of its own suppression list or a bad request: not a delivery attempt, and
# the bounce, spam report or unsubscribe that put the address there came as its own
# event. A re-subscription is recorded only with `postwarden resubscribe`.
IGNORED = frozenset({"processed", "open", "click", "dropped", "group_resubscribe"})

_REPLY_CODE = re.compile(r"[245]\d\d\Z")


@functools.lru_cache(maxsize=64)
def _public_key(secret: str) -> ec.EllipticCurvePublicKey:
    text = secret.strip()
    try:
        if "BEGIN PUBLIC KEY" in text:
            key = load_pem_public_key(text.encode())
        else:
            key = load_der_public_key(base64.b64decode(text, validate=True))
    except (ValueError, binascii.Error, TypeError) as exc:
        raise InvalidInput(f"not a SendGrid verification key (base64 or PEM public key): {exc}") from None
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise InvalidInput("the SendGrid verification key must be an ECDSA P-256 public key")
    return key


def check_secret(value: str) -> str:
    _public_key(value.strip())
    return value.strip()


def authenticate(headers: Mapping[str, str], body: bytes, secret: str) -> None:
    signature, timestamp = headers.get(SIGNATURE), headers.get(TIMESTAMP)
    if not signature or not timestamp:
        raise Unauthorized("the request is not signed: turn on 'Signed Event Webhook Requests' in "
                           "SendGrid's Mail Settings (headers X-Twilio-Email-Event-Webhook-Signature "
                           "and -Timestamp)")
    try:
        key = _public_key(secret)
    except InvalidInput as exc:
        raise Unauthorized(f"the stored SendGrid verification key is unusable: {exc.message}") from None
    try:
        key.verify(base64.b64decode(signature, validate=True), timestamp.encode() + body,
                   ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, binascii.Error, ValueError):
        raise Unauthorized("the SendGrid signature does not match: check the verification key set with "
                           "`postwarden webhook secret set --provider sendgrid`") from None


def translate(body: bytes) -> Translation:
    data = load_json(body)
    if not isinstance(data, list):
        raise MalformedPayload("SendGrid posts a JSON list of events; this body is not a list")
    out = Translation(events=len(data))
    for n, item in enumerate(data):
        event = Fields(item, f"event {n}")
        name = event.text("event", required=True) or ""
        build = _BUILDERS.get(name)
        if build is None:
            out.ignored[name] += 1
            continue
        out.feedbacks.append(build(event, name))
    return out


def _feedback(event: Fields, name: str, kind: str, extra: Mapping[str, str | None] | None = None,
              **fields: Any) -> Feedback:
    sg_event_id = event.text("sg_event_id")
    sg_message_id = event.text("sg_message_id")
    details = {"event": name, "sg_event_id": sg_event_id, "sg_message_id": sg_message_id, **(extra or {})}
    return Feedback(
        address=event.text("email", required=True) or "", kind=kind, source=PROVIDER.source,
        occurred_at=event.unix_time("timestamp"), message_id=event.text("smtp-id") or sg_message_id,
        raw=evidence(event.data), raw_content_type="application/json", idempotency_key=sg_event_id,
        details={k: v for k, v in details.items() if v}, **fields,
    )


def _bounce(event: Fields, name: str) -> Feedback:
    kind = event.text("type") or "bounce"
    classification = event.text("bounce_classification")
    text = event.text("reason")
    status = event.text("status")
    reply_code = None
    if status and _REPLY_CODE.match(status):
        status, reply_code = None, status
    sender_side = "blocked" if kind == "blocked" else None
    if classification in SENDER_SIDE_CLASSES:
        sender_side = SENDER_SIDE_CLASSES[classification]
    first = (status or reply_code or "")[:1]
    fields = bounce_fields(text, status=status, reply_code=reply_code,
                           permanent=first == "5" if first else None,
                           fallback=RECIPIENT_CLASSES.get(classification or ""), sender_side=sender_side)
    return _feedback(event, name, "bounce", {"type": kind, "bounce_classification": classification},
                     reason=fields.reason, status=fields.status, reply_code=fields.reply_code,
                     hard_bounce=fields.hard_bounce, diagnostic=text)


def _simple(kind: str, diagnostic_key: str | None = None,
            feedback_type: str | None = None) -> Callable[[Fields, str], Feedback]:
    def build(event: Fields, name: str) -> Feedback:
        diagnostic = event.text(diagnostic_key) if diagnostic_key else None
        return _feedback(event, name, kind, {"attempt": event.text("attempt")}, diagnostic=diagnostic,
                         feedback_type=feedback_type)
    return build


def _group_unsubscribe(event: Fields, name: str) -> Feedback:
    group = event.text("asm_group_id")
    return _feedback(event, name, "unsubscribe", {"asm_group_id": group},
                     scope=f"sendgrid-group:{group}" if group else "*")


_BUILDERS: dict[str, Callable[[Fields, str], Feedback]] = {
    "delivered": _simple("delivered", "response"),
    "deferred": _simple("delay", "response"),
    "bounce": _bounce,
    "spamreport": _simple("complaint", feedback_type="abuse"),
    "unsubscribe": _simple("unsubscribe"),
    "group_unsubscribe": _group_unsubscribe,
}


PROVIDER = WebhookProvider(
    name=NAME,
    description="Twilio SendGrid Event Webhook (signed: ECDSA P-256)",
    secret_kind="public-key",
    secret_help="the verification key SendGrid shows under Settings → Mail Settings → Event Webhook "
                "once 'Signed Event Webhook Requests' is on (base64, or PEM)",
    authenticate=authenticate,
    translate=translate,
    check_secret=check_secret,
)
