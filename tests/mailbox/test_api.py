"""The webmail API under /v1/mailbox, over HTTP with a real client, on both databases."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn
from sqlalchemy import Engine

from postwarden import settings as settings_mod
from postwarden.api.app import create_app
from postwarden.ledger.tenants import create_api_key
from tests.dnsserver import dns_server
from tests.mailbox.mails import ham, newsletter, spam
from tests.servers import free_port

ALICE = "alice@example.org"
_servers: dict[str, str] = {}


@pytest.fixture(scope="module")
def dns() -> Iterator[str]:
    with dns_server([]) as (_, server):
        yield server


@pytest.fixture
def api(engine: Engine, db_url: str, tenant: str, dns: str) -> Iterator[httpx.Client]:
    if db_url not in _servers:
        settings = settings_mod.load(env={}, database_url=engine.url.render_as_string(hide_password=False),
                                     dns_servers=[dns], dns_timeout=1.0, mailbox_model_bits=18)
        port = free_port()
        server = uvicorn.Server(uvicorn.Config(create_app(settings, engine), host="127.0.0.1", port=port,
                                               log_level="warning"))
        threading.Thread(target=server.run, daemon=True).start()
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        _servers[db_url] = f"http://127.0.0.1:{port}"
    key = create_api_key(engine, tenant, "test")
    with httpx.Client(base_url=_servers[db_url], headers={"Authorization": f"Bearer {key}"},
                      timeout=30) as client:
        yield client


def post(api: httpx.Client, path: str, message: bytes, **params: object) -> dict[str, object]:
    response = api.post(f"/v1/mailbox/{path}", content=message, params={"mailbox": ALICE, **params},
                        headers={"Content-Type": "message/rfc822"})
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def test_clicks_classify_and_explain(api: httpx.Client) -> None:
    first = post(api, "classify", spam(1))
    assert first["abstained"] is True and first["verdict"] == "inbox"
    assert first["authentication"]["dmarc"] == "none"  # type: ignore[index]
    for i in range(10):
        click = post(api, "report-spam", spam(i))
        assert click["consent_question"]  # asked at every click until given
        assert click["learned"] or i > 1  # later ones the model may already agree with firmly
        post(api, "report-not-spam", ham(i))
    found = post(api, "classify", spam(50))
    assert found["verdict"] == "spam" and not found["abstained"]
    assert "spam: score" in str(found["explanation"]) and found["reasons"]
    assert post(api, "classify", ham(50))["verdict"] == "inbox"


def test_rules_consent_and_feedback_addresses(api: httpx.Client) -> None:
    rule = api.post("/v1/mailbox/rules", json={"mailbox": ALICE, "kind": "block", "match": "domain",
                                               "value": "News.Example.com", "action": "reject"})
    assert rule.status_code == 201 and rule.json()["value"] == "news.example.com"
    assert post(api, "classify", newsletter(1))["verdict"] == "reject"
    listed = api.get("/v1/mailbox/rules", params={"mailbox": ALICE}).json()["rules"]
    assert listed == [{"kind": "block", "match": "domain", "value": "news.example.com", "action": "reject"}]
    gone = api.delete("/v1/mailbox/rules", params={"mailbox": ALICE, "kind": "block", "match": "domain",
                                                   "value": "news.example.com"})
    assert gone.json() == {"removed": True}
    bad = api.post("/v1/mailbox/rules", json={"mailbox": ALICE, "kind": "trust", "match": "ip",
                                              "value": "192.0.2.1"})
    assert bad.status_code == 422 and bad.json()["error"]["code"]
    assert api.post("/v1/mailbox/correspondents",
                    json={"mailbox": ALICE, "addresses": ["editor@news.example.com"]}).json() == {"added": 1}
    assert post(api, "classify", newsletter(2))["rule"]["kind"] == "correspondent"  # type: ignore[index]

    assert api.get("/v1/mailbox/consent", params={"mailbox": ALICE}).json()["asked_at_next_spam_click"]
    consent = api.put("/v1/mailbox/consent", json={"mailbox": ALICE, "share": True})
    assert consent.json()["share"] == "accepted"
    assert api.put("/v1/mailbox/feedback-addresses/promo1.example.net",
                   json={"address": "fbl@promo1.example.net"}).status_code == 200
    click = post(api, "report-spam", spam(1))
    assert click["consent_question"] is None
    assert click["reports"] == [{"to": "fbl@promo1.example.net", "role": "sender", "outcome": "skipped",
                                 "detail": "no upstream SMTP server is configured (mailbox_smtp_upstream)"}]
    logged = api.get("/v1/mailbox/reports", params={"mailbox": ALICE}).json()["reports"]
    assert logged[0]["reported_domain"] == "promo1.example.net" and logged[0]["outcome"] == "skipped"


def test_needs_a_key_and_a_mailbox(api: httpx.Client) -> None:
    assert httpx.post(f"{api.base_url}/v1/mailbox/classify", params={"mailbox": ALICE},
                      content=b"x").status_code == 401
    response = api.post("/v1/mailbox/classify", params={"mailbox": "not-an-address"}, content=b"x")
    assert response.status_code == 422
