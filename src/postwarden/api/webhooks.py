"""``POST /webhooks/{provider}/{tenant}``: provider event webhooks.

Authenticate (401; a refused provider signature 403, a replayed request 401) →
translate (a malformed body is kept in the spool as ``rejected`` and answered 400) →
apply the whole request in one ledger transaction → 200 with counts. The 200 is sent
only after that transaction committed; a provider's retry of the same events finds
them applied and changes nothing."""

from __future__ import annotations

import hashlib
import json
import math
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import State

from postwarden.errors import InvalidInput, NotFound, PostwardenError, Unauthorized
from postwarden.intake import spool
from postwarden.intake import webhooks as registry
from postwarden.intake.webhooks import Handshake, MalformedPayload, Nonce, Skipped, WebhookProvider, store
from postwarden.ledger import Ledger
from postwarden.ledger.service import utcnow

router = APIRouter(tags=["webhooks"])

MAX_BODY = 32 * 1024 * 1024
SHOWN_SKIPPED = 100
MAX_NONCE = 200
# Request headers kept with a rejected payload (never the credentials).
KEPT_HEADERS = ("content-type", "user-agent", "x-amz-sns-message-type", "x-amz-sns-topic-arn",
                "x-amz-sns-message-id", "x-twilio-email-event-webhook-timestamp")


class PayloadTooLarge(PostwardenError):
    code = "payload_too_large"
    http_status = 413


class ConfirmationFailed(PostwardenError):
    code = "confirmation_failed"
    http_status = 502


@router.post("/webhooks/{provider}/{tenant}")
async def receive(provider: str, tenant: str, request: Request) -> dict[str, Any]:
    spec = registry.get(provider)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise PayloadTooLarge(f"the body is larger than {MAX_BODY // (1024 * 1024)} MiB: send "
                                  "smaller batches")
    headers = {k.lower(): v for k, v in request.headers.items()}
    return await run_in_threadpool(handle, request.app.state, spec, tenant, headers, bytes(body))


def handle(state: State, spec: WebhookProvider, tenant: str, headers: Mapping[str, str],
           body: bytes) -> dict[str, Any]:
    ledger = _authenticated(state, spec, tenant, headers, body)
    try:
        handshake = spec.handshake(headers, body) if spec.handshake else None
        if handshake is not None:
            return _handshake(state, spec, ledger, handshake, headers, body)
        translation = spec.translate(body)
    except MalformedPayload as exc:
        entry = spool.enqueue(
            ledger.engine, spec.source, _envelope(spec, tenant, headers), body, tenant_id=ledger.tenant_id,
            state="rejected", result=json.dumps({"error": {"code": exc.code, "message": exc.message}}))
        raise MalformedPayload(f"malformed {spec.name} payload: {exc.message} (kept as spool entry {entry})",
                               details={"spool_id": entry}) from None
    prepared = registry.prepare(translation, utcnow())
    feedbacks, skipped = [], list(prepared.skipped)
    for feedback in prepared.feedbacks:
        try:
            ledger.valid_scope(feedback.scope)
        except InvalidInput as exc:
            skipped.append(Skipped(feedback.address, feedback.kind, exc.message))
            continue
        feedbacks.append(feedback)
    outcomes = ledger.apply_many(feedbacks, actor=spec.source) if feedbacks else []
    effects = Counter(o.effect for o in outcomes)
    return {
        "provider": spec.name, "tenant": tenant, "events": translation.events,
        "applied": len(outcomes) - effects["duplicate"], "duplicates": effects["duplicate"],
        "effects": dict(effects), "ignored": dict(translation.ignored),
        "skipped": len(skipped),
        "skipped_events": [{"address": s.address, "kind": s.kind, "why": s.why}
                           for s in skipped[:SHOWN_SKIPPED]],
    }


def _authenticated(state: State, spec: WebhookProvider, tenant: str, headers: Mapping[str, str],
                   body: bytes) -> Ledger:
    ledgers: dict[str, Ledger] = state.ledgers
    ledger = ledgers.get(tenant)
    if ledger is None:
        try:
            ledger = Ledger(state.engine, tenant, state.settings)
        except NotFound:
            ledger = None
        else:
            ledgers[tenant] = ledger
    secret = store.secret_for(state.engine, ledger.tenant_id, spec.name) if ledger else None
    if ledger is None or secret is None:
        # The same answer for an unknown tenant and a missing secret: nothing to probe.
        raise Unauthorized(f"no {spec.name} webhook secret is set for tenant {tenant!r}: run "
                           f"`postwarden --tenant {tenant} webhook secret set --provider {spec.name}`")
    spec.authenticate(headers, body, secret)
    if spec.verify is not None:
        spec.verify(headers, body, state.settings)
    if spec.nonce is not None:
        _fresh(state, spec, ledger, body, spec.nonce(body))
    return ledger


def _fresh(state: State, spec: WebhookProvider, ledger: Ledger, body: bytes, nonce: Nonce | None) -> None:
    """Refuse a signed request that is too old, or whose one-time token came before
    with another body (a captured signature reused for other events)."""
    window = float(state.settings.webhook_replay_window_seconds)
    if window <= 0 or nonce is None:
        return
    age = time.time() - nonce.signed_at if math.isfinite(nonce.signed_at) else math.inf
    if abs(age) > window:
        raise Unauthorized(f"the {spec.name} signature's timestamp is {age:.0f} s old (negative: ahead), "
                           f"outside the {window:.0f} s replay window (webhook_replay_window_seconds): "
                           "a replayed request, or a clock that is wrong here or there")
    if len(nonce.token) > MAX_NONCE:
        raise Unauthorized(f"the {spec.name} signing token is longer than {MAX_NONCE} characters")
    # Kept past the last moment the window accepts the signature, clocks skewed either way.
    now = utcnow()
    expires = now + timedelta(seconds=2 * window)
    if not store.first_use(state.engine, ledger.tenant_id, spec.name, nonce.token,
                           hashlib.sha256(body).hexdigest(), expires, now):
        raise Unauthorized(f"the {spec.name} signing token was used before with another body: a "
                           "replayed signature is refused")


def _envelope(spec: WebhookProvider, tenant: str, headers: Mapping[str, str]) -> dict[str, Any]:
    return {"provider": spec.name, "tenant": tenant,
            "headers": {k: headers[k] for k in KEPT_HEADERS if k in headers}}


def visit(url: str) -> None:
    """Confirm an SNS subscription by fetching its SubscribeURL."""
    # The URL was checked to be https on an Amazon SNS host before it got here.
    with urllib.request.urlopen(url, timeout=10) as reply:
        reply.read(65536)


def _handshake(state: State, spec: WebhookProvider, ledger: Ledger, handshake: Handshake,
               headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
    confirmed, problem = False, None
    if handshake.kind == "SubscriptionConfirmation" and handshake.confirm_url:
        confirm: Callable[[str], None] = getattr(state, "sns_confirm", visit)
        try:
            confirm(handshake.confirm_url)
            confirmed = True
        except Exception as exc:  # any failure to reach AWS is reported, with the URL to visit
            problem = f"{type(exc).__name__}: {exc}"
    result = {"handshake": handshake.kind, "topic": handshake.topic, "confirm_url": handshake.confirm_url,
              "confirmed": confirmed, "problem": problem}
    entry = spool.enqueue(ledger.engine, spec.source, _envelope(spec, ledger.tenant_name, headers), body,
                          tenant_id=ledger.tenant_id, state="done", result=json.dumps(result))
    if problem is not None:
        raise ConfirmationFailed(
            f"could not confirm the SNS subscription to {handshake.topic} ({problem}): open its "
            f"SubscribeURL yourself (kept as spool entry {entry})",
            details={"confirm_url": handshake.confirm_url, "spool_id": entry})
    return {"provider": spec.name, "tenant": ledger.tenant_name, **result, "spool_id": entry}
