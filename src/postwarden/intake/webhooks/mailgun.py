"""Mailgun webhooks (the JSON kind): one event per request, ``{"signature": {...},
"event-data": {...}}``. The signature is HMAC-SHA256 of ``timestamp`` + ``token``
under the domain's HTTP webhook signing key, carried in the body itself. It does not
cover ``event-data``: the route refuses old timestamps and a token that comes back
with another body (:attr:`~postwarden.intake.webhooks.WebhookProvider.nonce`)."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from typing import Any

from postwarden.errors import Unauthorized
from postwarden.intake.webhooks import (
    Fields,
    Nonce,
    Translation,
    WebhookProvider,
    bounce_fields,
    evidence,
    load_json,
)
from postwarden.ledger.feedback import Feedback

NAME = "mailgun"

# event name -> our kind. Anything else (accepted, rejected, opened, clicked, stored,
# list events) carries nothing for the ledger and is counted as ignored.
KINDS = {"delivered": "delivered", "failed": "bounce", "complained": "complaint",
         "unsubscribed": "unsubscribe"}

# ``reason`` of a failed event that says the sender was refused.
SENDER_SIDE = {"espblock": "blocked", "blocklisted": "blocked"}
# ... and those that name a reason when the SMTP text names none.
FALLBACK = {"old": "expired"}

_HEX = re.compile(r"[0-9a-fA-F]{64}\Z")
_REPLY_CODE = re.compile(r"[245]\d\d\Z")


def authenticate(headers: Mapping[str, str], body: bytes, secret: str) -> None:
    try:
        data = json.loads(body)
        signed = data["signature"]
        timestamp, token, signature = (str(signed[k]) for k in ("timestamp", "token", "signature"))
    except (ValueError, KeyError, TypeError, RecursionError):
        raise Unauthorized("no Mailgun signature in the body: Mailgun's JSON webhooks carry "
                           "signature.timestamp, .token and .signature") from None
    expected = hmac.new(secret.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()
    if not _HEX.match(signature) or not hmac.compare_digest(expected, signature.lower()):
        raise Unauthorized("the Mailgun signature does not match: check the HTTP webhook signing key "
                           "set with `postwarden webhook secret set --provider mailgun`")


def nonce(body: bytes) -> Nonce | None:
    try:
        signed = json.loads(body)["signature"]
        token, timestamp = str(signed["token"]), float(signed["timestamp"])
    except (ValueError, KeyError, TypeError, RecursionError, OverflowError):
        return None
    return Nonce(token, timestamp)


def translate(body: bytes) -> Translation:
    payload = Fields(load_json(body), "the body")
    event = payload.obj("event-data", required=True)
    assert event is not None
    name = event.text("event", required=True) or ""
    out = Translation(events=1)
    kind = KINDS.get(name)
    reason = event.text("reason")
    if kind is None or (reason or "").startswith("suppress-"):
        # suppress-bounce, -complaint, -unsubscribe: Mailgun did not try, because of
        # its own list; the event that put the address there came on its own.
        out.ignored[f"{name}:{reason}" if kind else name] += 1
        return out
    status = event.obj("delivery-status") or Fields({}, "event-data.delivery-status")
    text = status.text("message") or status.text("description")
    event_id = event.text("id")
    details = {"event": name, "id": event_id, "severity": event.text("severity"), "reason": reason,
               "mx_host": status.text("mx-host"), "attempt": status.text("attempt-no")}
    fields: dict[str, Any] = {}
    if name == "failed":
        permanent = event.text("severity") != "temporary"
        kind = "bounce" if permanent else "delay"
        code = status.text("code")
        result = bounce_fields(text, status=status.text("enhanced-code"),
                               reply_code=code if code and _REPLY_CODE.match(code) else None,
                               permanent=permanent, fallback=FALLBACK.get(reason or ""),
                               sender_side=SENDER_SIDE.get(reason or ""))
        fields = {"reason": result.reason, "status": result.status, "reply_code": result.reply_code,
                  "hard_bounce": result.hard_bounce}
        if code and not _REPLY_CODE.match(code):
            details["code"] = code
    message = event.obj("message")
    headers = message.obj("headers") if message else None
    out.feedbacks.append(Feedback(
        address=event.text("recipient", required=True) or "", kind=kind, source=PROVIDER.source,
        occurred_at=event.unix_time("timestamp"), diagnostic=text,
        message_id=headers.text("message-id") if headers else None,
        remote_mta=status.text("mx-host"), feedback_type="abuse" if kind == "complaint" else None,
        raw=evidence(event.data), raw_content_type="application/json",
        # Mailgun keeps an event id unique for a day only; with the event's time it is for good.
        idempotency_key=f"{event_id}:{event.text('timestamp')}" if event_id else None,
        details={k: v for k, v in details.items() if v}, **fields,
    ))
    return out


PROVIDER = WebhookProvider(
    name=NAME,
    description="Mailgun webhooks (JSON, HMAC-SHA256 signature in the body)",
    secret_kind="hmac",
    secret_help="the HTTP webhook signing key Mailgun shows under Sending → Webhooks (or API Security)",
    authenticate=authenticate,
    translate=translate,
    nonce=nonce,
)
