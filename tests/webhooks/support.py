"""Fixtures and signing helpers shared by the webhook tests: each provider's request
is built the way that provider builds it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

FIXTURES = Path(__file__).with_name("fixtures")

MAILGUN_KEY = "key-3ax6xnjp29jd6fds4gc373sgvjxteol0"
BASIC = "postwarden:s3cret-Passw0rd"

_SENDGRID_PRIVATE = ec.generate_private_key(ec.SECP256R1())
SENDGRID_KEY = base64.b64encode(_SENDGRID_PRIVATE.public_key().public_bytes(
    serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).decode()
OTHER_SENDGRID_KEY = base64.b64encode(ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
    serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).decode()


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def sns(note: bytes, message_id: str = "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324") -> bytes:
    """An SES notification inside the SNS envelope SNS posts."""
    return json.dumps({
        "Type": "Notification", "MessageId": message_id,
        "TopicArn": "arn:aws:sns:us-east-1:123456789012:ses-feedback",
        "Message": note.decode(), "Timestamp": "2026-01-05T09:00:02.000Z", "SignatureVersion": "1",
        "Signature": "EXAMPLE", "SigningCertURL": "https://sns.us-east-1.amazonaws.com/cert.pem",
        "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
    }).encode()


def mailgun(body: bytes, key: str = MAILGUN_KEY) -> bytes:
    """Re-sign a Mailgun fixture with ``key`` as Mailgun would."""
    data: dict[str, Any] = json.loads(body)
    signed = data["signature"]
    signed["signature"] = hmac.new(key.encode(), (signed["timestamp"] + signed["token"]).encode(),
                                   hashlib.sha256).hexdigest()
    return json.dumps(data).encode()


def sendgrid_headers(body: bytes, timestamp: str = "1767600100") -> dict[str, str]:
    signature = _SENDGRID_PRIVATE.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    return {"X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
            "X-Twilio-Email-Event-Webhook-Timestamp": timestamp, "Content-Type": "application/json"}


def basic_headers(secret: str = BASIC) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(secret.encode()).decode(),
            "Content-Type": "application/json"}


def request_for(provider: str, body: bytes) -> tuple[bytes, dict[str, str]]:
    """The body and headers the provider would send for ``body``, signed or with
    credentials (SES bodies are SES notifications and get their SNS envelope here)."""
    if provider == "sendgrid":
        return body, sendgrid_headers(body)
    if provider == "mailgun":
        return mailgun(body), {"Content-Type": "application/json"}
    if provider == "ses":
        wrapped = body if b'"Type"' in body[:200] else sns(body)
        return wrapped, {**basic_headers(), "x-amz-sns-message-type": "Notification",
                         "Content-Type": "text/plain"}
    return body, basic_headers()


SECRETS = {"sendgrid": SENDGRID_KEY, "mailgun": MAILGUN_KEY, "ses": BASIC, "postmark": BASIC}
