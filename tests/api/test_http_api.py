"""The HTTP API over a real socket, on both backends."""

from __future__ import annotations

import csv
import io
import json

import httpx
from sqlalchemy import Engine

from postwarden.ledger.tenants import create_api_key, create_tenant


def test_health_needs_no_key(base_url: str) -> None:
    assert httpx.get(f"{base_url}/health").json()["status"] == "ok"


def test_wrong_or_missing_key_is_a_clear_401(base_url: str) -> None:
    for headers in ({}, {"Authorization": "Bearer pw_wrong"}):
        response = httpx.post(f"{base_url}/v1/check", json={"addresses": ["a@example.com"]}, headers=headers)
        assert response.status_code == 401
        error = response.json()["error"]
        assert error["code"] == "unauthorized" and "key create" in error["message"]


def test_suppress_check_and_lift_a_complaint(api: httpx.Client) -> None:
    created = api.post("/v1/suppressions", json={"address": "Reader@Example.com", "reason": "complaint"})
    assert created.status_code == 201 and created.json()["action"] == "created"
    result = api.post("/v1/check", json={"addresses": ["reader@example.com", "ok@example.com"]}).json()
    assert [r["verdict"] for r in result["results"]] == ["suppressed", "allowed"]
    assert result["results"][0]["lift"] == "consent"

    refused = api.post("/v1/suppressions/reader@example.com/lift", json={"note": "please"})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "policy_refused"
    still = api.post("/v1/check", json={"addresses": ["reader@example.com"]}).json()["results"][0]
    assert still["verdict"] == "suppressed"

    lifted = api.post("/v1/suppressions/reader@example.com/lift", json={
        "note": "recipient wrote in", "consent": {"confirmed_by": "Dana", "method": "email",
                                                  "evidence": "Please send me mail again", "ticket": "T-9"}})
    assert lifted.status_code == 200, lifted.text
    trail = api.get("/v1/audit", params={"address": "reader@example.com"}).json()["entries"]
    assert [e["action"] for e in trail] == ["created", "lift_refused", "lifted"]
    assert trail[-1]["evidence"]["ticket"] == "T-9" and trail[-1]["actor"].startswith("api-key:pw_")
    assert api.get("/v1/audit/verify").json() == {"intact": True}


def test_events_are_idempotent_and_sender_side_is_an_alert(api: httpx.Client) -> None:
    event = {"address": "gone@example.com", "kind": "bounce", "reason": "userunknown", "reply_code": "550",
             "status": "5.1.1", "event_id": "provider-123"}
    first = api.post("/v1/events", json=event).json()
    second = api.post("/v1/events", json=event).json()
    assert (first["effect"], second["effect"]) == ("suppress", "duplicate")
    block = {"address": "fine@example.com", "kind": "bounce", "reason": "blocked", "reply_code": "554",
             "status": "5.7.1", "diagnostic": "554 5.7.1 IP listed at zen.spamhaus.org"}
    assert api.post("/v1/events", json=block).json()["effect"] == "alert"
    alerts = api.get("/v1/alerts").json()["alerts"]
    assert [a["address"] for a in alerts] == ["fine@example.com"]


def test_list_is_paginated_and_filtered_and_export_streams(api: httpx.Client) -> None:
    for n in range(7):
        api.post("/v1/suppressions", json={"address": f"u{n}@shop.example", "reason": "manual"})
    api.post("/v1/suppressions", json={"address": "x@other.example", "reason": "unsubscribe",
                                       "scope": "newsletter"})
    seen, cursor = [], None
    while True:
        page = api.get("/v1/suppressions", params={"match": "*@shop.example", "limit": 3,
                                                   **({"cursor": cursor} if cursor else {})}).json()
        seen += [i["address"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == [f"u{n}@shop.example" for n in range(7)]
    assert page["counts"] == {"manual": 7}
    exported = api.get("/v1/export", params={"format": "csv", "reason": "unsubscribe"})
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [(r["address"], r["scope"]) for r in rows] == [("x@other.example", "newsletter")]
    lines = api.get("/v1/export", params={"format": "jsonl"}).text.splitlines()
    assert len(lines) == 8 and all(json.loads(line)["state"] == "active" for line in lines)


def test_import_is_all_or_nothing_with_line_numbers(api: httpx.Client) -> None:
    bad = "address,reason\nok@example.com,hard_bounce\nnot-an-address,manual\n"
    response = api.post("/v1/imports/suppressions", params={"from": "csv"}, content=bad)
    assert response.status_code == 422
    assert response.json()["error"]["details"]["problems"][0]["line"] == 3
    assert api.get("/v1/suppressions").json()["items"] == []
    good = ("EmailAddress,SuppressionReason,Origin,CreatedAt\n"
            "hb@example.com,HardBounce,Recipient,2024-01-02T03:04:05Z\n")
    summary = api.post("/v1/imports/suppressions", params={"from": "postmark"}, content=good).json()
    assert summary["created"] == 1 and summary["by_class"] == {"hard_bounce": 1}


def test_bad_requests_get_json_errors_that_say_what_to_do(api: httpx.Client) -> None:
    response = api.post("/v1/suppressions", json={"address": "nope", "reason": "manual"})
    assert response.status_code == 422 and response.json()["error"]["code"] == "invalid_address"
    response = api.post("/v1/suppressions", json={"address": "a@example.com", "reason": "whim"})
    assert "one of" in response.json()["error"]["message"]
    response = api.post("/v1/check", json={"addresses": "not a list"})
    assert response.status_code == 422 and response.json()["error"]["code"] == "invalid_request"


def test_one_tenant_key_cannot_touch_another_tenant(api: httpx.Client, engine: Engine, tenant: str) -> None:
    api.post("/v1/suppressions", json={"address": "private@example.com", "reason": "manual"})
    other = f"{tenant}-b"
    create_tenant(engine, other)
    other_key = create_api_key(engine, other)
    headers = {"Authorization": f"Bearer {other_key}"}
    base = str(api.base_url)
    assert httpx.get(f"{base}/v1/suppressions", headers=headers).json()["items"] == []
    response = httpx.post(f"{base}/v1/suppressions/private@example.com/lift", json={"note": "x"},
                          headers=headers)
    assert response.status_code == 404


def test_contact_card_shows_status_feedback_evidence_and_audit(api: httpx.Client) -> None:
    api.post("/v1/events", json={"address": "card@example.com", "kind": "unsubscribe", "scope": "news"})
    api.post("/v1/events", json={"address": "card@example.com", "kind": "bounce", "reason": "blocked",
                                 "reply_code": "554", "status": "5.7.1"})
    card = api.get("/v1/contacts/Card@Example.com").json()
    assert card["address"] == "card@example.com"
    assert card["status"]["*"]["verdict"] == "allowed"
    assert card["status"]["news"]["verdict"] == "suppressed"
    assert card["status"]["news"]["lift"] == "resubscribe"
    assert [e["effect"] for e in card["events"]] == ["alert", "suppress"]
    assert [a["action"] for a in card["audit"]] == ["created"]
    assert api.get("/v1/contacts/not-an-address").status_code == 422


def test_messages_recorded_over_http_show_on_the_card(api: httpx.Client) -> None:
    body = {"messages": [{"message_id": "<h1@app>", "recipient": "gus@example.com", "sender": "app@x.example",
                          "subject": "Hi", "stream": "marketing", "scope": "news"}] * 2}
    reply = api.post("/v1/messages", json=body)
    assert reply.status_code == 201 and reply.json() == {"recorded": 1, "already_known": 1}
    bad = api.post("/v1/messages", json={"messages": [{"message_id": "x", "recipient": "not an address",
                                                       "sender": "a@b.example"}]})
    assert bad.status_code == 422 and "address" in bad.json()["error"]["message"]
    card = api.get("/v1/contacts/gus@example.com").json()
    assert [(m["message_id"], m["status"]) for m in card["messages"]] == [("h1@app", "sent")]
