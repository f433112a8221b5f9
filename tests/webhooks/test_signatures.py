"""Amazon SNS message signatures and Mailgun replay protection, through the real HTTP
endpoint on SQLite and PostgreSQL. SNS is played by support.fake_sns: a CA of our
own, a signing certificate, and an HTTPS server on localhost publishing it."""

from __future__ import annotations

import contextlib
import json
import re
import ssl
import time
from datetime import timedelta

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select

from postwarden import settings as settings_mod
from postwarden.intake.webhooks import SignatureRefused, ses, sns, store
from postwarden.ledger import Ledger
from postwarden.ledger.models import SPOOL, WEBHOOK_NONCES
from postwarden.ledger.service import utcnow
from tests.servers import InThread

from .support import (
    BASIC,
    MAILGUN_KEY,
    basic_headers,
    fake_sns,
    fixture,
    mailgun,
    sns_settings,
    sns_sign,
)
from .support import sns as sns_envelope

NOTE = fixture("ses_bounce_permanent.json")
HEADERS = {**basic_headers(), "x-amz-sns-message-type": "Notification"}


def _tenant(engine: Engine, tenant: str) -> Ledger:
    ledger = Ledger(engine, tenant, settings_mod.load(env={}))
    store.set_secret(engine, ledger.tenant_id, "ses", BASIC)
    store.set_secret(engine, ledger.tenant_id, "mailgun", MAILGUN_KEY)
    return ledger


def _spooled(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(SPOOL)).scalar_one())


def _refused(reply: httpx.Response, pattern: str) -> None:
    assert reply.status_code == 403, reply.text
    error = reply.json()["error"]
    assert error["code"] == "signature_refused"
    assert re.search(pattern, error["message"]), error["message"]


# ---- SNS ----------------------------------------------------------------------------

@pytest.mark.parametrize("version", ["1", "2"])
def test_a_signed_sns_notification_is_applied(version: str, http: httpx.Client, engine: Engine,
                                              tenant: str) -> None:
    ledger = _tenant(engine, tenant)
    body = sns_envelope(NOTE, message_id=f"signed-v{version}-{tenant}", version=version)
    reply = http.post(f"/webhooks/ses/{tenant}", content=body, headers=HEADERS)
    assert reply.status_code == 200, reply.text
    assert reply.json()["effects"]["suppress"] == 1
    assert ledger.check(["jane@example.com"])[0].reason_class == "hard_bounce"


def test_a_changed_message_fails_its_signature(http: httpx.Client, engine: Engine, tenant: str) -> None:
    ledger = _tenant(engine, tenant)
    before = _spooled(engine)
    signed = json.loads(sns_envelope(NOTE))
    signed["Message"] = signed["Message"].replace("jane@example.com", "victim@example.com")
    reply = http.post(f"/webhooks/ses/{tenant}", content=json.dumps(signed).encode(), headers=HEADERS)
    _refused(reply, "signature does not match")
    # A field SNS does not sign may change (UnsubscribeURL); one it signs may not.
    for field, value in (("TopicArn", "arn:aws:sns:us-east-1:123456789012:other"),
                         ("Timestamp", "2026-01-05T09:00:03.000Z")):
        changed = {**json.loads(sns_envelope(NOTE)), field: value}
        _refused(http.post(f"/webhooks/ses/{tenant}", content=json.dumps(changed).encode(), headers=HEADERS),
                 "signature does not match")
    assert ledger.check(["victim@example.com"])[0].verdict == "allowed"
    assert _spooled(engine) == before


def test_a_certificate_signed_by_another_key_is_refused(http: httpx.Client, engine: Engine,
                                                        tenant: str) -> None:
    _tenant(engine, tenant)
    body = sns_envelope(NOTE, cert_url=fake_sns().cert_url("other-key.pem"))
    _refused(http.post(f"/webhooks/ses/{tenant}", content=body, headers=HEADERS), "does not match")


@pytest.mark.parametrize(("url", "why"), [
    ("https://sns.us-east-1.amazonaws.com.evil.example/cert.pem", "not an Amazon SNS host"),
    ("https://evil.example/cert.pem", "not an Amazon SNS host"),
    ("https://user@localhost:1/cert.pem", "not an Amazon SNS host"),
    ("http://localhost:{port}/SimpleNotificationService-test.pem", "is not https"),
    ("file:///etc/passwd", "is not https"),
])
def test_a_certificate_from_elsewhere_is_never_fetched(url: str, why: str, http: httpx.Client,
                                                       engine: Engine, tenant: str) -> None:
    _tenant(engine, tenant)
    url = url.format(port=fake_sns().url.rpartition(":")[2])
    fetched = len(fake_sns().fetched)
    body = sns_envelope(NOTE, cert_url=url)
    _refused(http.post(f"/webhooks/ses/{tenant}", content=body, headers=HEADERS), why)
    assert len(fake_sns().fetched) == fetched


@pytest.mark.parametrize(("name", "why"), [
    ("expired.pem", "outside its validity period"),
    ("not-a-certificate.pem", "did not give a PEM certificate"),
    ("missing.pem", "could not fetch .*HTTPError"),
    ("redirect.pem", "could not fetch .*HTTPError.*302"),
])
def test_unusable_certificates_are_refused(name: str, why: str, http: httpx.Client, engine: Engine,
                                           tenant: str) -> None:
    _tenant(engine, tenant)
    body = sns_envelope(NOTE, cert_url=fake_sns().cert_url(name))
    _refused(http.post(f"/webhooks/ses/{tenant}", content=body, headers=HEADERS), why)


@pytest.mark.parametrize(("change", "why"), [
    ({"SignatureVersion": "3"}, "unknown SNS SignatureVersion '3'"),
    ({"SignatureVersion": None}, "unknown SNS SignatureVersion"),
    ({"Signature": "not base64!"}, "not base64"),
    ({"Signature": None}, "no SigningCertURL or Signature"),
    ({"MessageId": 7}, "no 'MessageId' string"),
    ({"Type": "Something"}, "not a signed SNS message type"),
])
def test_unknown_versions_and_broken_envelopes_are_refused(change: dict[str, object], why: str,
                                                          http: httpx.Client, engine: Engine,
                                                          tenant: str) -> None:
    _tenant(engine, tenant)
    message = {**json.loads(sns_envelope(NOTE)), **change}
    body = json.dumps({k: v for k, v in message.items() if v is not None}).encode()
    _refused(http.post(f"/webhooks/ses/{tenant}", content=body, headers=HEADERS), why)


def test_raw_message_delivery_has_no_signature_to_check(http: httpx.Client, engine: Engine,
                                                        tenant: str) -> None:
    _tenant(engine, tenant)
    _refused(http.post(f"/webhooks/ses/{tenant}", content=NOTE, headers=HEADERS), "raw message delivery")


def test_basic_auth_is_still_required_beside_the_signature(http: httpx.Client, engine: Engine,
                                                           tenant: str) -> None:
    _tenant(engine, tenant)
    body = sns_envelope(NOTE)
    reply = http.post(f"/webhooks/ses/{tenant}", content=body,
                      headers={**basic_headers("postwarden:wrong"), "x-amz-sns-message-type": "Notification"})
    assert reply.status_code == 401


def test_a_signed_subscription_confirmation_is_confirmed(server: InThread, http: httpx.Client,
                                                         engine: Engine, tenant: str) -> None:
    _tenant(engine, tenant)
    visited: list[str] = []
    server.app.state.sns_confirm = visited.append
    try:
        message = json.loads(fixture("ses_subscription_confirmation.json"))
        headers = {**basic_headers(), "x-amz-sns-message-type": "SubscriptionConfirmation"}
        forged = {**json.loads(sns_sign(message, "2")), "SubscribeURL": message["SubscribeURL"] + "x"}
        _refused(http.post(f"/webhooks/ses/{tenant}", content=json.dumps(forged).encode(), headers=headers),
                 "does not match")
        assert visited == []
        reply = http.post(f"/webhooks/ses/{tenant}", content=sns_sign(message, "2"), headers=headers)
        assert reply.status_code == 200, reply.text
        assert visited == [message["SubscribeURL"]]
    finally:
        del server.app.state.sns_confirm


def test_the_check_can_be_turned_off_for_installations_without_aws() -> None:
    offline = settings_mod.load(env={}).with_overrides(sns_verify_signatures=False)
    ses.verify({}, NOTE, offline)
    with pytest.raises(SignatureRefused, match="raw message delivery"):
        ses.verify({}, NOTE, settings_mod.load(env={}))


def test_a_broken_host_pattern_refuses_with_its_name() -> None:
    with pytest.raises(SignatureRefused, match="sns_cert_host_pattern"):
        sns.SigningCertificates("(unclosed")


def test_certificates_are_fetched_once_and_checked_against_the_pattern() -> None:
    certificates = sns.SigningCertificates(sns_settings()["sns_cert_host_pattern"], fake_sns().ca_file)
    fetched = len(fake_sns().fetched)
    for n in range(3):
        sns.verify(sns_envelope(NOTE, message_id=f"cached-{n}"), certificates)
    assert len(fake_sns().fetched) == fetched + 1
    # Without the tests' CA, the TLS chain of the local server is not trusted.
    untrusting = sns.SigningCertificates(sns_settings()["sns_cert_host_pattern"])
    with pytest.raises(SignatureRefused, match=r"could not fetch .*CERTIFICATE_VERIFY_FAILED"):
        untrusting.key(fake_sns().cert_url())


@pytest.mark.parametrize("host", ["sns.us-east-1.amazonaws.com", "sns.cn-north-1.amazonaws.com.cn",
                                  "sns.us-gov-west-1.amazonaws.com"])
def test_the_default_pattern_takes_amazon_sns_hosts(host: str) -> None:
    sns.SigningCertificates().check_url(f"https://{host}/SimpleNotificationService-abc.pem")


@pytest.mark.parametrize("url", [
    "https://sns.us-east-1.amazonaws.com.evil.example/c.pem", "https://evilsns.us-east-1.amazonaws.com/c.pem",
    "https://sns.us-east-1.amazonaws.com@evil.example/c.pem", "https://s3.amazonaws.com/c.pem",
    "http://sns.us-east-1.amazonaws.com/c.pem", "https://sns.us-east-1.amazonaws.co/c.pem",
    "https://SNS.US-EAST-1.evil/c.pem", "https://[::1/c.pem", "",
])
def test_the_default_pattern_refuses_everything_else(url: str) -> None:
    with pytest.raises(SignatureRefused):
        sns.SigningCertificates().check_url(url)


def _never_fetch(url: str, context: ssl.SSLContext) -> bytes:
    raise OSError("no network in this test")


OFFLINE = sns.SigningCertificates(fetch=_never_fetch)


@settings(max_examples=300, deadline=None)
@given(body=st.binary(max_size=300) | st.dictionaries(
    st.sampled_from(["Type", "Message", "MessageId", "Subject", "Timestamp", "TopicArn", "SignatureVersion",
                     "Signature", "SigningCertURL", "SubscribeURL", "Token"]),
    st.none() | st.integers() | st.text(max_size=30) | st.sampled_from(
        ["Notification", "SubscriptionConfirmation", "1", "2", "https://sns.x.amazonaws.com/c.pem"]),
).map(lambda d: json.dumps(d).encode()))
def test_garbage_is_refused_never_a_crash(body: bytes) -> None:
    with contextlib.suppress(SignatureRefused):
        sns.verify(body, OFFLINE)
        raise AssertionError("garbage passed the signature check")


# ---- Mailgun replay protection ------------------------------------------------------

MAILGUN = fixture("mailgun_failed_permanent.json")


def _mailgun(http: httpx.Client, tenant: str, body: bytes) -> httpx.Response:
    return http.post(f"/webhooks/mailgun/{tenant}", content=body,
                     headers={"Content-Type": "application/json"})


def test_mailgun_old_and_future_signatures_are_refused(http: httpx.Client, engine: Engine,
                                                       tenant: str) -> None:
    _tenant(engine, tenant)
    # Ten seconds past the 300 s window either way: the signed timestamp is whole
    # seconds, and a slow machine may take a while to answer.
    for when in (time.time() - 310, time.time() + 310, time.time() - 86400 * 30):
        reply = _mailgun(http, tenant, mailgun(MAILGUN, timestamp=when))
        assert reply.status_code == 401, reply.text
        assert "replay window" in reply.json()["error"]["message"]
    assert _mailgun(http, tenant, mailgun(MAILGUN, timestamp=time.time() - 250)).status_code == 200


def test_mailgun_token_reused_with_other_events_is_refused(http: httpx.Client, engine: Engine,
                                                           tenant: str) -> None:
    ledger = _tenant(engine, tenant)
    body = mailgun(MAILGUN)
    first = _mailgun(http, tenant, body)
    assert first.status_code == 200 and first.json()["effects"] == {"suppress": 1}
    # The same request again (the provider retrying) passes and changes nothing.
    again = _mailgun(http, tenant, body)
    assert again.status_code == 200 and again.json()["effects"] == {"duplicate": 1}
    # The captured signature block with other event data does not.
    forged = json.loads(body)
    forged["event-data"]["recipient"] = "victim@example.com"
    forged["event-data"]["id"] = "forged"
    reply = _mailgun(http, tenant, json.dumps(forged).encode())
    assert reply.status_code == 401
    assert "used before with another body" in reply.json()["error"]["message"]
    assert ledger.check(["victim@example.com"])[0].verdict == "allowed"


def test_tokens_are_per_tenant_and_provider_and_forgotten_after_the_window(
        engine: Engine, tenant: str, monkeypatch: pytest.MonkeyPatch) -> None:
    ledger = _tenant(engine, tenant)
    other = Ledger(engine, tenant, settings_mod.load(env={}))
    now = utcnow()
    token, later = f"token-{tenant}", now + timedelta(seconds=600)
    assert store.first_use(engine, ledger.tenant_id, "mailgun", token, "a" * 64, later, now)
    assert store.first_use(engine, other.tenant_id, "mailgun", token, "a" * 64, later, now)
    assert not store.first_use(engine, ledger.tenant_id, "mailgun", token, "b" * 64, later, now)
    assert store.first_use(engine, ledger.tenant_id, "sendgrid", token, "b" * 64, later, now)
    monkeypatch.setattr(store, "PURGE_SECONDS", 0.0)
    after = later + timedelta(seconds=1)
    assert store.first_use(engine, ledger.tenant_id, "mailgun", token, "b" * 64, after + timedelta(600),
                           after)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(WEBHOOK_NONCES)
                            .where(WEBHOOK_NONCES.c.expires_at < after)).scalar_one() == 0
