"""Amazon SNS message signatures: the proof that an SNS message came from SNS.

SNS signs the canonical string of a message's documented fields (``Key\\nValue\\n``
for each, in the documented order) with the private key of a certificate it
publishes at ``SigningCertURL``: SHA1withRSA for ``SignatureVersion`` 1,
SHA256withRSA for 2.

What a certificate is trusted for: it is downloaded over https (the TLS chain
checked against the system's trust store, or ``sns_cert_ca_file``), only from a host
that matches ``sns_cert_host_pattern`` (by default Amazon SNS's regional hosts),
and it must be within its validity period and hold an RSA key. The TLS download from
an SNS host is what vouches for the certificate, as Amazon's own SDK validators do;
the certificate file carries no chain of its own to check.

A signature proves the message came from *some* SNS topic, not from the tenant's:
the tenant's basic-auth secret in the subscription URL still binds it to theirs."""

from __future__ import annotations

import base64
import binascii
import json
import re
import ssl
import threading
import time
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from postwarden.intake.webhooks import SignatureRefused

DEFAULT_HOST_PATTERN = r"^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$"

# The fields each message type signs, in canonical order; a field absent from the
# message (Notification's Subject) is left out of the string.
SIGNED_FIELDS = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token",
                                 "TopicArn", "Type"),
    "UnsubscribeConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token",
                                "TopicArn", "Type"),
}
HASHES: dict[str, Callable[[], hashes.HashAlgorithm]] = {"1": hashes.SHA1, "2": hashes.SHA256}

MAX_CERTIFICATE = 64 * 1024
CACHE_SIZE = 64
# A certificate is kept at most this long (or until it expires), so one AWS rotates
# out of use is fetched again within a day.
CACHE_SECONDS = 24 * 3600.0


def canonical(message: dict[str, Any]) -> bytes:
    """The string SNS signs for ``message``; raises :class:`SignatureRefused` when a
    signed field is missing or not a string."""
    kind = message.get("Type")
    fields = SIGNED_FIELDS.get(kind) if isinstance(kind, str) else None
    if fields is None:
        raise SignatureRefused(f"not a signed SNS message type: {str(kind)[:40]!r}")
    lines = []
    for name in fields:
        value = message.get(name)
        if value is None and name == "Subject":
            continue
        if not isinstance(value, str):
            raise SignatureRefused(f"the SNS message has no {name!r} string to check its signature with")
        lines.append(f"{name}\n{value}\n")
    return "".join(lines).encode()


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect would lead away from the host the pattern allowed: it is an error."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def download(url: str, context: ssl.SSLContext) -> bytes:
    opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=context), _NoRedirects())
    with opener.open(url, timeout=10) as reply:
        data: bytes = reply.read(MAX_CERTIFICATE + 1)
    if len(data) > MAX_CERTIFICATE:
        raise ValueError(f"larger than {MAX_CERTIFICATE} bytes")
    return data


class SigningCertificates:
    """SNS signing certificates by URL: the URL checked before anything is fetched,
    each certificate fetched once and kept (at most ``CACHE_SIZE``), shared by the
    threads of one process."""

    def __init__(self, host_pattern: str = DEFAULT_HOST_PATTERN, ca_file: str = "",
                 fetch: Callable[[str, ssl.SSLContext], bytes] = download) -> None:
        try:
            self.host = re.compile(host_pattern)
        except re.error as exc:
            raise SignatureRefused(f"sns_cert_host_pattern {host_pattern!r} is not a regular expression "
                                   f"({exc}): no certificate can be fetched until it is fixed") from None
        self.context = ssl.create_default_context(cafile=ca_file or None)
        self.fetch = fetch
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, rsa.RSAPublicKey]] = {}

    def check_url(self, url: str) -> None:
        try:
            parts = urlsplit(url)
            host = parts.hostname or ""
        except ValueError:
            raise SignatureRefused(f"the SigningCertURL {url[:200]!r} is not a URL") from None
        if parts.scheme != "https":
            raise SignatureRefused(f"the SigningCertURL {url[:200]!r} is not https: not fetched")
        if not self.host.match(host) or parts.username is not None or parts.password is not None:
            raise SignatureRefused(f"the SigningCertURL host {host[:100]!r} is not an Amazon SNS host "
                                   f"(sns_cert_host_pattern {self.host.pattern!r}): not fetched")

    def key(self, url: str, now: float | None = None) -> rsa.RSAPublicKey:
        self.check_url(url)
        now = time.time() if now is None else now
        with self._lock:
            cached = self._cache.get(url)
        if cached is not None and cached[0] > now:
            return cached[1]
        try:
            pem = self.fetch(url, self.context)
        except Exception as exc:  # any failure to fetch is the same refusal, with its cause
            raise SignatureRefused(f"could not fetch the SNS signing certificate {url[:200]!r}: "
                                   f"{type(exc).__name__}: {exc}") from None
        certificate, until = _accepted(pem, url, now)
        key = certificate.public_key()
        assert isinstance(key, rsa.RSAPublicKey)  # _accepted checked it
        with self._lock:
            if len(self._cache) >= CACHE_SIZE:
                self._cache.pop(next(iter(self._cache)))
            self._cache[url] = (min(until, now + CACHE_SECONDS), key)
        return key


def _accepted(pem: bytes, url: str, now: float) -> tuple[x509.Certificate, float]:
    try:
        certificate = x509.load_pem_x509_certificate(pem)
    except ValueError:
        raise SignatureRefused(f"{url[:200]!r} did not give a PEM certificate") from None
    moment = datetime.fromtimestamp(now, UTC)
    if not certificate.not_valid_before_utc <= moment <= certificate.not_valid_after_utc:
        raise SignatureRefused(f"the SNS signing certificate at {url[:200]!r} is outside its validity "
                               f"period ({certificate.not_valid_before_utc:%Y-%m-%d} to "
                               f"{certificate.not_valid_after_utc:%Y-%m-%d})")
    if not isinstance(certificate.public_key(), rsa.RSAPublicKey):
        raise SignatureRefused(f"the SNS signing certificate at {url[:200]!r} holds no RSA key")
    return certificate, certificate.not_valid_after_utc.timestamp()


def verify(body: bytes, certificates: SigningCertificates) -> None:
    """Raise :class:`SignatureRefused` unless ``body`` is an SNS message signed by SNS."""
    try:
        message = json.loads(body)
    except (ValueError, RecursionError):
        raise SignatureRefused("the body is not an SNS message (not JSON): no signature to check") from None
    if not isinstance(message, dict) or "Type" not in message:
        raise SignatureRefused("the body is not an SNS message (no 'Type'): raw message delivery "
                               "carries no signature, so it is refused while sns_verify_signatures is on")
    version = message.get("SignatureVersion")
    digest = HASHES.get(version) if isinstance(version, str) else None
    if digest is None:
        raise SignatureRefused(f"unknown SNS SignatureVersion {str(version)[:20]!r}: 1 and 2 are known")
    signed = canonical(message)
    url, encoded = message.get("SigningCertURL"), message.get("Signature")
    if not isinstance(url, str) or not isinstance(encoded, str):
        raise SignatureRefused("the SNS message has no SigningCertURL or Signature")
    try:
        signature = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise SignatureRefused("the SNS Signature is not base64") from None
    key = certificates.key(url)
    try:
        key.verify(signature, signed, padding.PKCS1v15(), digest())
    except InvalidSignature:
        raise SignatureRefused("the SNS message signature does not match: the message was changed "
                               "or not signed by Amazon SNS") from None
