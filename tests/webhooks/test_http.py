"""End to end over a real HTTP server, on SQLite and PostgreSQL: authenticate,
translate, commit, answer; malformed bodies kept; retries change nothing."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, func, select

from postwarden import settings as settings_mod
from postwarden.intake import spool
from postwarden.intake.webhooks import store
from postwarden.ledger import Ledger
from postwarden.ledger.models import AUDIT, EVENTS, SPOOL
from tests.servers import InThread

from .support import SECRETS, fixture, request_for, sendgrid_headers

SAMPLES = {"sendgrid": "sendgrid_batch.json", "mailgun": "mailgun_failed_permanent.json",
           "postmark": "postmark_hard_bounce.json", "ses": "ses_bounce_permanent.json"}


def _ledger(engine: Engine, tenant: str) -> Ledger:
    ledger = Ledger(engine, tenant, settings_mod.load(env={}))
    for provider, secret in SECRETS.items():
        store.set_secret(engine, ledger.tenant_id, provider, secret)
    return ledger


def _post(http: httpx.Client, provider: str, tenant: str, name: str) -> httpx.Response:
    body, headers = request_for(provider, fixture(name))
    return http.post(f"/webhooks/{provider}/{tenant}", content=body, headers=headers)


def _count(engine: Engine, table: Any, tenant_id: int) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)
                                .where(table.c.tenant_id == tenant_id)).scalar_one())


def test_sendgrid_batch_applies_and_answers_with_counts(http: httpx.Client, engine: Engine,
                                                        tenant: str) -> None:
    ledger = _ledger(engine, tenant)
    reply = _post(http, "sendgrid", tenant, "sendgrid_batch.json")
    assert reply.status_code == 200, reply.text
    got = reply.json()
    assert got["events"] == 14 and got["applied"] == 9 and got["duplicates"] == 0
    assert got["ignored"] == {"dropped": 1, "open": 1, "click": 1, "processed": 1}
    assert got["skipped"] == 1 and got["skipped_events"][0]["address"] == "not an address"
    assert got["effects"] == {"reset": 1, "record": 1, "suppress": 4, "alert": 2, "count": 1}

    verdicts = {r.address: (r.verdict, r.reason_class) for r in ledger.check([
        "unknown@example.com", "blocked@example.com", "blockedunknown@example.com", "full@example.com",
        "complainer@example.com", "leaver@example.com", "groupleaver@example.com", "delivered@example.com"])}
    assert verdicts == {
        "unknown@example.com": ("suppressed", "hard_bounce"),
        "blocked@example.com": ("allowed", None),
        "blockedunknown@example.com": ("allowed", None),
        "full@example.com": ("allowed", None),
        "complainer@example.com": ("suppressed", "complaint"),
        "leaver@example.com": ("suppressed", "unsubscribe"),
        "groupleaver@example.com": ("allowed", None),
        "delivered@example.com": ("allowed", None),
    }
    assert ledger.check(["groupleaver@example.com"], scope="sendgrid-group:42")[0].verdict == "suppressed"
    assert {a.address for a in ledger.alerts()} == {"blocked@example.com", "blockedunknown@example.com"}


def test_the_same_payload_twice_changes_nothing(http: httpx.Client, engine: Engine, tenant: str) -> None:
    ledger = _ledger(engine, tenant)
    first = _post(http, "sendgrid", tenant, "sendgrid_batch.json").json()
    events, audit = _count(engine, EVENTS, ledger.tenant_id), _count(engine, AUDIT, ledger.tenant_id)
    suppressions = [(r.address, r.reason_class, r.times_suppressed, r.updated_at)
                    for r in ledger.suppressions_for("unknown@example.com")]
    again = _post(http, "sendgrid", tenant, "sendgrid_batch.json").json()
    assert again["applied"] == 0 and again["duplicates"] == first["applied"] == 9
    assert again["effects"] == {"duplicate": 9}
    assert _count(engine, EVENTS, ledger.tenant_id) == events
    assert _count(engine, AUDIT, ledger.tenant_id) == audit
    assert [(r.address, r.reason_class, r.times_suppressed, r.updated_at)
            for r in ledger.suppressions_for("unknown@example.com")] == suppressions
    assert ledger.verify_audit() is None


def test_sender_side_blocks_never_suppress(http: httpx.Client, engine: Engine, tenant: str) -> None:
    ledger = _ledger(engine, tenant)
    events = [{"email": "victim@example.com", "event": "bounce", "type": "blocked", "sg_event_id": f"b{n}",
               "timestamp": 1767600000 + n, "status": "5.7.1",
               "reason": "550 5.7.1 Mail from this IP is rejected: poor reputation"} for n in range(8)]
    body = json.dumps(events).encode()
    reply = http.post(f"/webhooks/sendgrid/{tenant}", content=body, headers=sendgrid_headers(body))
    assert reply.json()["effects"] == {"alert": 8}
    assert ledger.check(["victim@example.com"])[0].verdict == "allowed"
    assert ledger.suppressions_for("victim@example.com") == []


@pytest.mark.parametrize("provider", sorted(SAMPLES))
def test_each_provider_suppresses_a_hard_bounce(provider: str, http: httpx.Client, engine: Engine,
                                                tenant: str) -> None:
    ledger = _ledger(engine, tenant)
    reply = _post(http, provider, tenant, SAMPLES[provider])
    assert reply.status_code == 200, reply.text
    assert reply.json()["effects"].get("suppress") >= 1
    address = {"sendgrid": "unknown@example.com", "mailgun": "alice@example.com",
               "postmark": "john@example.com", "ses": "jane@example.com"}[provider]
    assert ledger.check([address])[0].reason_class == "hard_bounce"
    again = _post(http, provider, tenant, SAMPLES[provider]).json()
    assert again["applied"] == 0


def test_malformed_payload_is_400_and_kept(http: httpx.Client, engine: Engine, tenant: str) -> None:
    ledger = _ledger(engine, tenant)
    body = b'[{"event": "bounce", "timestamp": 1}]'
    reply = http.post(f"/webhooks/sendgrid/{tenant}", content=body, headers=sendgrid_headers(body))
    assert reply.status_code == 400
    error = reply.json()["error"]
    assert error["code"] == "malformed_payload"
    assert "event 0 has no 'email'" in error["message"]
    entry_id = error["details"]["spool_id"]
    kept = [e for e in spool.entries(engine, "rejected", ledger.tenant_id, limit=1000) if e.id == entry_id]
    assert len(kept) == 1 and kept[0].channel == "webhook:sendgrid"
    assert json.loads(kept[0].result)["error"]["code"] == "malformed_payload"
    assert "authorization" not in json.loads(kept[0].envelope)["headers"]
    assert spool.raw_of(engine, entry_id, ledger.tenant_id) == body


def test_authentication_failures_are_401_and_keep_nothing(http: httpx.Client, engine: Engine,
                                                          tenant: str) -> None:
    _ledger(engine, tenant)
    with engine.connect() as conn:
        before = conn.execute(select(func.count()).select_from(SPOOL)).scalar_one()
    body = fixture("sendgrid_batch.json")
    unsigned = http.post(f"/webhooks/sendgrid/{tenant}", content=body)
    assert unsigned.status_code == 401
    assert "Signed Event Webhook" in unsigned.json()["error"]["message"]
    forged = http.post(f"/webhooks/sendgrid/{tenant}", content=body + b" ", headers=sendgrid_headers(body))
    assert forged.status_code == 401
    wrong_basic = http.post(f"/webhooks/postmark/{tenant}", content=fixture("postmark_hard_bounce.json"),
                            auth=("postwarden", "guess"))
    assert wrong_basic.status_code == 401
    nobody = http.post("/webhooks/postmark/no-such-tenant", content=b"{}", auth=("postwarden", "guess"))
    assert nobody.status_code == 401 and "no postmark webhook secret" in nobody.json()["error"]["message"]
    assert http.post(f"/webhooks/nosuch/{tenant}", content=b"{}").status_code == 404
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(SPOOL)).scalar_one() == before


def test_no_secret_set_is_401_with_the_command(http: httpx.Client, engine: Engine, tenant: str) -> None:
    reply = _post(http, "mailgun", tenant, "mailgun_delivered.json")
    assert reply.status_code == 401
    command = f"postwarden --tenant {tenant} webhook secret set --provider mailgun"
    assert command in reply.json()["error"]["message"]


def test_sns_subscription_is_confirmed(server: InThread, http: httpx.Client, engine: Engine,
                                       tenant: str) -> None:
    ledger = _ledger(engine, tenant)
    visited: list[str] = []
    server.app.state.sns_confirm = visited.append
    try:
        body, headers = request_for("ses", fixture("ses_subscription_confirmation.json"))
        headers["x-amz-sns-message-type"] = "SubscriptionConfirmation"
        reply = http.post(f"/webhooks/ses/{tenant}", content=body, headers=headers)
        assert reply.status_code == 200, reply.text
        assert reply.json()["confirmed"] is True
        assert visited == [json.loads(body)["SubscribeURL"]]

        def unreachable(url: str) -> None:
            raise OSError("network is unreachable")

        server.app.state.sns_confirm = unreachable
        failed = http.post(f"/webhooks/ses/{tenant}", content=body, headers=headers)
        assert failed.status_code == 502
        details = failed.json()["error"]["details"]
        assert details["confirm_url"] == visited[0]
        kept = spool.raw_of(engine, details["spool_id"], ledger.tenant_id)
        assert kept == body
    finally:
        del server.app.state.sns_confirm
