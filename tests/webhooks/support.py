"""Fixtures and signing helpers shared by the webhook tests: each provider's request
is built the way that provider builds it.

Amazon SNS is played by a certificate authority of our own, a signing certificate it
issued, and a real HTTPS server on localhost publishing that certificate (the test
servers trust the CA through ``sns_cert_ca_file`` and allow the host ``localhost``)."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import http.server
import json
import secrets
import ssl
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

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


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _issue(subject: str, key: rsa.RSAPrivateKey, issuer: x509.Certificate | None,
           issuer_key: rsa.RSAPrivateKey, *, ca: bool = False, dns: str | None = None,
           valid_from: datetime | None = None, days: int = 30) -> x509.Certificate:
    start = valid_from or datetime.now(UTC) - timedelta(days=1)
    builder = (x509.CertificateBuilder().subject_name(_name(subject))
               .issuer_name(issuer.subject if issuer else _name(subject))
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(start).not_valid_after(start + timedelta(days=days))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if dns:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(dns)]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


@dataclass
class FakeSns:
    """The CA, the signing key, and the HTTPS server publishing its certificate."""

    url: str
    ca_file: str
    signing_key: rsa.RSAPrivateKey
    fetched: list[str] = field(default_factory=list)

    def cert_url(self, name: str = "SimpleNotificationService-test.pem") -> str:
        return f"{self.url}/{name}"


@functools.cache
def fake_sns() -> FakeSns:
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca = _issue("postwarden test CA", ca_key, None, ca_key, ca=True)
    tls_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    tls = _issue("localhost", tls_key, ca, ca_key, dns="localhost")
    signing_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    files = {
        "SimpleNotificationService-test.pem": _pem(_issue("sns.amazonaws.com", signing_key, ca, ca_key)),
        "other-key.pem": _pem(_issue("sns.amazonaws.com", other_key, ca, ca_key)),
        "expired.pem": _pem(_issue("sns.amazonaws.com", signing_key, ca, ca_key,
                                   valid_from=datetime.now(UTC) - timedelta(days=400))),
        "not-a-certificate.pem": b"<html>hello</html>",
    }
    folder = Path(tempfile.mkdtemp(prefix="postwarden-sns-"))
    (folder / "ca.pem").write_bytes(_pem(ca))
    (folder / "tls.pem").write_bytes(_pem(tls) + tls_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    fetched: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            fetched.append(self.path)
            if self.path == "/redirect.pem":
                self.send_response(302)
                self.send_header("Location", "/SimpleNotificationService-test.pem")
                self.end_headers()
                return
            data = files.get(self.path.lstrip("/"))
            self.send_response(200 if data is not None else 404)
            self.end_headers()
            self.wfile.write(data or b"")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(folder / "tls.pem")
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return FakeSns(f"https://localhost:{server.server_address[1]}", str(folder / "ca.pem"), signing_key,
                   fetched)


# What the webhook tests' servers are told, so that they trust the fake SNS.
def sns_settings() -> dict[str, str]:
    return {"sns_cert_host_pattern": r"^localhost$", "sns_cert_ca_file": fake_sns().ca_file}


SNS_SIGNED = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn",
                                 "Type"),
}
SNS_HASHES = {"1": hashes.SHA1(), "2": hashes.SHA256()}


def sns_sign(message: dict[str, Any], version: str = "1", cert_url: str | None = None) -> bytes:
    """``message`` signed as SNS signs: the canonical string written out here from
    AWS's documentation, independently of the code under test."""
    message = {**message, "SignatureVersion": version,
               "SigningCertURL": cert_url or fake_sns().cert_url()}
    text = "".join(f"{k}\n{message[k]}\n" for k in SNS_SIGNED[message["Type"]] if k in message)
    signature = fake_sns().signing_key.sign(text.encode(), padding.PKCS1v15(),
                                           SNS_HASHES.get(version, hashes.SHA256()))
    message["Signature"] = base64.b64encode(signature).decode()
    return json.dumps(message).encode()


def sns(note: bytes, message_id: str = "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324", version: str = "1",
        cert_url: str | None = None) -> bytes:
    """An SES notification inside the SNS envelope SNS posts, signed."""
    return sns_sign({
        "Type": "Notification", "MessageId": message_id,
        "TopicArn": "arn:aws:sns:us-east-1:123456789012:ses-feedback",
        "Message": note.decode(), "Timestamp": "2026-01-05T09:00:02.000Z",
        "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
    }, version, cert_url)


def mailgun(body: bytes, key: str = MAILGUN_KEY, timestamp: float | None = None,
            token: str | None = None) -> bytes:
    """Sign a Mailgun fixture with ``key`` as Mailgun would: now (or at ``timestamp``),
    with a fresh token unless one is given."""
    data: dict[str, Any] = json.loads(body)
    signed = data["signature"]
    signed["timestamp"] = str(int(time.time() if timestamp is None else timestamp))
    signed["token"] = token or secrets.token_hex(25)
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
        wrapped = sns_sign(json.loads(body)) if b'"Type"' in body[:200] else sns(body)
        return wrapped, {**basic_headers(), "x-amz-sns-message-type": "Notification",
                         "Content-Type": "text/plain"}
    return body, basic_headers()


SECRETS = {"sendgrid": SENDGRID_KEY, "mailgun": MAILGUN_KEY, "ses": BASIC, "postmark": BASIC}
