"""The registry matches the folder; each provider's authentication accepts the
provider's own requests and refuses everything else."""

from __future__ import annotations

import base64
import json
import pkgutil
from pathlib import Path

import pytest

from postwarden.errors import InvalidInput, Unauthorized
from postwarden.intake import webhooks

from .support import (
    BASIC,
    MAILGUN_KEY,
    OTHER_SENDGRID_KEY,
    SECRETS,
    SENDGRID_KEY,
    basic_headers,
    fixture,
    mailgun,
    request_for,
    sendgrid_headers,
    sns,
)


def test_registry_matches_the_folder() -> None:
    folder = Path(webhooks.__file__).parent
    modules = {m.name for m in pkgutil.iter_modules([str(folder)])} - webhooks.NOT_PROVIDERS
    assert set(webhooks.providers()) == modules == {"ses", "sendgrid", "mailgun", "postmark"}
    for name, provider in webhooks.providers().items():
        assert provider.name == name
        assert provider.secret_kind in ("basic", "hmac", "public-key")
        assert provider.source == f"webhook:{name}"


def test_unknown_provider_is_not_found() -> None:
    with pytest.raises(Exception, match="no webhook provider named 'nosuch'"):
        webhooks.get("nosuch")


def _lower(headers: dict[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


SAMPLES = {"sendgrid": "sendgrid_batch.json", "mailgun": "mailgun_failed_permanent.json",
           "postmark": "postmark_hard_bounce.json", "ses": "ses_complaint.json"}


@pytest.mark.parametrize("provider", sorted(SAMPLES))
def test_the_providers_own_request_passes(provider: str) -> None:
    body, headers = request_for(provider, fixture(SAMPLES[provider]))
    webhooks.get(provider).authenticate(_lower(headers), body, SECRETS[provider])


def _tampered(provider: str) -> tuple[bytes, dict[str, str], str]:
    body, headers = request_for(provider, fixture(SAMPLES[provider]))
    return body.replace(b"example", b"exampl3", 1), headers, SECRETS[provider]


BAD = {
    "sendgrid": [
        lambda: (fixture("sendgrid_batch.json"), {}, SENDGRID_KEY),  # unsigned
        lambda: (*request_for("sendgrid", fixture("sendgrid_batch.json")), OTHER_SENDGRID_KEY),
        lambda: (fixture("sendgrid_batch.json"), {**sendgrid_headers(b"[]")}, SENDGRID_KEY),
        lambda: (fixture("sendgrid_batch.json"),
                 {**sendgrid_headers(fixture("sendgrid_batch.json"), "1"),
                  "X-Twilio-Email-Event-Webhook-Timestamp": "2"}, SENDGRID_KEY),
        lambda: (fixture("sendgrid_batch.json"),
                 {"X-Twilio-Email-Event-Webhook-Signature": "!!!",
                  "X-Twilio-Email-Event-Webhook-Timestamp": "1"},
                 SENDGRID_KEY),
        lambda: (*request_for("sendgrid", fixture("sendgrid_batch.json")), "not-a-key"),
    ],
    "mailgun": [
        lambda: (fixture("mailgun_failed_permanent.json"), {}, MAILGUN_KEY),  # placeholder signature
        lambda: (mailgun(fixture("mailgun_failed_permanent.json"), "another-key"), {}, MAILGUN_KEY),
        lambda: (b"not json", {}, MAILGUN_KEY),
        lambda: (b'{"event-data": {}}', {}, MAILGUN_KEY),
    ],
    "postmark": [
        lambda: (fixture("postmark_hard_bounce.json"), {}, BASIC),
        lambda: (fixture("postmark_hard_bounce.json"), basic_headers("postwarden:wrong"), BASIC),
        lambda: (fixture("postmark_hard_bounce.json"), {"Authorization": "Basic %%%"}, BASIC),
        lambda: (fixture("postmark_hard_bounce.json"), {"Authorization": "Bearer " + BASIC}, BASIC),
        lambda: (fixture("postmark_hard_bounce.json"), basic_headers(BASIC + "x"), BASIC),
    ],
    "ses": [
        lambda: (sns(fixture("ses_complaint.json")), {}, BASIC),
        lambda: (sns(fixture("ses_complaint.json")), basic_headers("postwarden:nope"), BASIC),
    ],
}


@pytest.mark.parametrize(("provider", "case"),
                         [(p, n) for p, cases in sorted(BAD.items()) for n in range(len(cases))])
def test_everything_else_is_refused(provider: str, case: int) -> None:
    body, headers, secret = BAD[provider][case]()
    with pytest.raises(Unauthorized) as caught:
        webhooks.get(provider).authenticate(_lower(headers), body, secret)
    assert caught.value.http_status == 401 and caught.value.message


def test_a_changed_sendgrid_body_fails_the_signature() -> None:
    body, headers, secret = _tampered("sendgrid")
    with pytest.raises(Unauthorized):
        webhooks.get("sendgrid").authenticate(_lower(headers), body, secret)


def test_mailgun_signs_timestamp_and_token_only() -> None:
    """Mailgun's signature does not cover event-data (see docs/webhooks.md); a changed
    token or timestamp fails it."""
    data = json.loads(mailgun(fixture("mailgun_failed_permanent.json")))
    data["signature"]["token"] = data["signature"]["token"][:-1] + "x"
    with pytest.raises(Unauthorized):
        webhooks.get("mailgun").authenticate({}, json.dumps(data).encode(), MAILGUN_KEY)


def test_sendgrid_key_in_pem_form_is_accepted() -> None:
    der = base64.b64decode(SENDGRID_KEY)
    pem = "-----BEGIN PUBLIC KEY-----\n" + base64.encodebytes(der).decode() + "-----END PUBLIC KEY-----\n"
    provider = webhooks.get("sendgrid")
    stored = provider.check_secret(pem)
    body, headers = request_for("sendgrid", b"[]")
    provider.authenticate(_lower(headers), body, stored)


@pytest.mark.parametrize(("provider", "value"), [
    ("sendgrid", "bm90IGEga2V5"), ("sendgrid", "-----BEGIN PUBLIC KEY-----\nxx\n-----END PUBLIC KEY-----"),
    ("postmark", "no-colon"), ("ses", "user:"), ("ses", "us@er:pw"), ("postmark", "a:b c"), ("mailgun", "  "),
])
def test_bad_secrets_are_refused_before_they_are_stored(provider: str, value: str) -> None:
    with pytest.raises(InvalidInput):
        webhooks.get(provider).check_secret(value)


def test_endpoint_url_carries_basic_credentials_only() -> None:
    ses, sendgrid = webhooks.get("ses"), webhooks.get("sendgrid")
    assert (webhooks.endpoint_url("https://pw.example.com/base/", ses, "acme", "u:p")
            == "https://u:p@pw.example.com/base/webhooks/ses/acme")
    assert (webhooks.endpoint_url("https://pw.example.com", sendgrid, "acme", SENDGRID_KEY)
            == "https://pw.example.com/webhooks/sendgrid/acme")


def test_sns_handshake_is_recognised_and_its_url_checked() -> None:
    ses = webhooks.get("ses")
    assert ses.handshake is not None
    found = ses.handshake({"x-amz-sns-message-type": "SubscriptionConfirmation"},
                          fixture("ses_subscription_confirmation.json"))
    assert found is not None and found.kind == "SubscriptionConfirmation"
    assert found.topic == "arn:aws:sns:us-west-2:123456789012:MyTopic"
    assert found.confirm_url is not None and found.confirm_url.startswith("https://sns.us-west-2.amazonaws.com/")
    assert ses.handshake({}, sns(fixture("ses_complaint.json"))) is None
    assert ses.handshake({}, b"garbage") is None
    evil = json.loads(fixture("ses_subscription_confirmation.json"))
    evil["SubscribeURL"] = "http://169.254.169.254/latest/meta-data/"
    with pytest.raises(webhooks.MalformedPayload, match="not an https address of Amazon SNS"):
        ses.handshake({}, json.dumps(evil).encode())
