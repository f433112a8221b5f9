"""The HTTP API. Every /v1 route is authenticated by an API key, which names the
tenant; errors are JSON ``{"error": {"code", "message", "details"}}`` rendered in one
place from :mod:`postwarden.errors`."""

from __future__ import annotations

import asyncio
import io
import json
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Query, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field
from sqlalchemy import Engine

from postwarden import __version__
from postwarden import settings as settings_mod
from postwarden.api import mailbox as mailbox_api
from postwarden.api import reports as reports_api
from postwarden.api import unsubscribe, verification, webhooks
from postwarden.errors import PostwardenError, Unauthorized
from postwarden.gate.contact import contact_card
from postwarden.gate.service import Gate
from postwarden.intake import exports, spool
from postwarden.ledger import Consent, Feedback, Ledger
from postwarden.ledger import export as export_mod
from postwarden.ledger.db import make_engine
from postwarden.ledger.export import iso, naive_utc
from postwarden.ledger.feedback import KINDS
from postwarden.ledger.messages import SentMessage
from postwarden.ledger.service import CheckResult, SuppressionFilter
from postwarden.ledger.tenants import recent_tenant_for_key, tenant_for_key
from postwarden.verify.screening import screen_checked, screen_imported
from postwarden.web import pages as web_pages

MAX_CHECK = 10_000
# Declared as security schemes, so /docs offers to authorize; neither refuses by itself,
# so a missing key gets our own error.
BEARER = HTTPBearer(auto_error=False, description="An API key from `postwarden key create`.")
API_KEY = APIKeyHeader(name="X-API-Key", auto_error=False, description="The same key, for clients that "
                       "cannot send a bearer token.")


def check_json(result: CheckResult) -> dict[str, Any]:
    return {
        "address": result.address, "verdict": result.verdict, "reason_class": result.reason_class,
        "reason": result.reason, "scope": result.scope, "since": iso(result.since),
        "expires_at": iso(result.expires_at), "lift": result.lift,
        "lift_explanation": result.lift_explanation, "error": result.error,
    }


class SuppressIn(BaseModel):
    address: str
    reason: str = Field(description="Reason class: complaint, hard_bounce, soft_bounce, unsubscribe, "
                                    "invalid or manual.")
    scope: str = "*"
    note: str = ""
    expires_at: datetime | None = None


class ConsentIn(BaseModel):
    confirmed_by: str = Field(description="Who confirmed with the recipient.")
    method: str = Field(description="email, phone, form or ticket.")
    evidence: str = Field(description="The recipient's confirmation, in words.")
    ticket: str | None = None
    confirmed_at: datetime | None = None


class LiftIn(BaseModel):
    note: str
    scope: str | None = None
    consent: ConsentIn | None = None


class ResubscribeIn(BaseModel):
    scope: str = "*"
    evidence: str


class MessageIn(BaseModel):
    """A message sent to one recipient outside the relay, for the history and reports."""

    message_id: str
    recipient: str
    sender: str
    subject: str = ""
    stream: Literal["transactional", "marketing"] = "transactional"
    scope: str = "*"
    sent_at: datetime | None = None


class MessagesIn(BaseModel):
    messages: list[MessageIn] = Field(max_length=MAX_CHECK)


class CheckIn(BaseModel):
    addresses: list[str] = Field(max_length=MAX_CHECK)
    scope: str = "*"


class EventIn(BaseModel):
    """A feedback event from a source postwarden has no module for."""

    address: str
    kind: str = Field(description=f"One of {', '.join(KINDS)}.")
    reason: str | None = None
    hard_bounce: bool | None = None
    status: str | None = None
    reply_code: str | None = None
    diagnostic: str | None = None
    remote_mta: str | None = None
    message_id: str | None = None
    feedback_type: str | None = None
    scope: str = "*"
    occurred_at: datetime | None = None
    event_id: str | None = Field(None, description="Your id for the event: sending it twice "
                                                   "changes nothing.")


async def authenticated(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(BEARER)] = None,
    api_key: Annotated[str | None, Security(API_KEY)] = None,
) -> Ledger:
    """The tenant's ledger for the request's API key. Async: keys are cached, so the
    database is asked (in a thread) only every few seconds per key."""
    key = bearer.credentials.strip() if bearer else api_key
    if not key:
        raise Unauthorized("no API key: send 'Authorization: Bearer <key>' "
                           "(create one with `postwarden key create`)")
    state = request.app.state
    tenant = recent_tenant_for_key(state.engine, key)
    if tenant is None:
        tenant = await asyncio.to_thread(tenant_for_key, state.engine, key)
    ledgers: dict[str, Ledger] = state.ledgers
    if tenant not in ledgers:
        ledgers[tenant] = Ledger(state.engine, tenant, state.settings)
    return ledgers[tenant]


Auth = Annotated[Ledger, Depends(authenticated)]


def create_app(settings: settings_mod.Settings | None = None, engine: Engine | None = None) -> FastAPI:
    settings = settings or settings_mod.load()
    engine = engine or make_engine(settings.database_url)
    app = FastAPI(title="postwarden", version=__version__,
                  description="Suppression ledger, feedback intake and the send gate.")
    app.state.engine = engine
    app.state.settings = settings
    app.state.ledgers = {}
    app.state.gates = {}
    app.state.mailboxes = {}

    @app.exception_handler(PostwardenError)
    async def _postwarden_error(_: Request, exc: PostwardenError) -> JSONResponse:
        return JSONResponse({"error": {"code": exc.code, "message": exc.message, "details": exc.details}},
                            status_code=exc.http_status)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
        return JSONResponse({"error": {"code": "invalid_request",
                                       "message": "the request is not valid: " + "; ".join(problems),
                                       "details": {"problems": problems}}}, status_code=422)

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    @app.post("/v1/check")
    async def check(body: CheckIn, ledger: Auth, request: Request) -> dict[str, Any]:
        """May I send to these? Answered from the gate's in-memory index. Async on purpose:
        the answer is computed in memory (the gate asks the database every 0.2 s at most,
        and for the rare suppression it cannot explain alone), and the thread hop of a
        sync endpoint would cost more than the check."""
        gates: dict[int, Gate] = request.app.state.gates
        if ledger.tenant_id not in gates:
            gates[ledger.tenant_id] = Gate(ledger)
        results = await gates[ledger.tenant_id].check_soon(body.addresses, body.scope)
        if settings.verify_on_check:
            results = await screen_checked(ledger, verification.verifier_of(request), results,
                                           actor=_actor(request))
        return {"results": [check_json(r) for r in results]}

    @app.post("/v1/suppressions", status_code=201)
    def suppress(body: SuppressIn, ledger: Auth, request: Request) -> dict[str, Any]:
        outcome = ledger.suppress(body.address, body.reason, scope=body.scope, note=body.note,
                                  actor=_actor(request), expires_at=naive_utc(body.expires_at))
        return {"address": outcome.address, "action": outcome.action, "reason_class": outcome.reason_class,
                "scope": outcome.scope}

    @app.get("/v1/suppressions")
    def list_suppressions(
        ledger: Auth,
        reason: Annotated[list[str] | None, Query(description="Reason class; repeat for several.")] = None,
        bounce_reason: str | None = None, scope: str | None = None,
        since: datetime | None = None, until: datetime | None = None,
        match: Annotated[str | None, Query(description="Address pattern with * and ?.")] = None,
        state: Literal["active", "lifted", "all"] = "active",
        limit: int | None = None, cursor: int | None = None,
    ) -> dict[str, Any]:
        size = min(limit or settings.page_size, settings.max_page_size)
        flt = SuppressionFilter(reason_classes=reason, bounce_reason=bounce_reason, scope=scope,
                                since=naive_utc(since), until=naive_utc(until), match=match,
                                state=None if state == "all" else state)
        rows = ledger.find(flt, limit=size, after_id=cursor)
        return {"items": [export_mod.record(r) for r in rows],
                "next_cursor": rows[-1].id if len(rows) == size else None,
                "counts": ledger.count_by_class(flt)}

    @app.get("/v1/suppressions/{address}")
    def get_suppressions(address: str, ledger: Auth) -> dict[str, Any]:
        return {"address": address, "check": check_json(ledger.check([address])[0]),
                "suppressions": [export_mod.record(r) for r in ledger.suppressions_for(address)]}

    @app.post("/v1/suppressions/{address}/lift")
    def lift(address: str, body: LiftIn, ledger: Auth, request: Request) -> dict[str, Any]:
        consent = None
        if body.consent:
            c = body.consent
            consent = Consent(c.confirmed_by, c.method, c.evidence, c.ticket, naive_utc(c.confirmed_at))
        outcomes = ledger.lift(address, note=body.note, actor=_actor(request), scope=body.scope,
                               consent=consent)
        return {"lifted": [{"reason_class": o.reason_class, "scope": o.scope} for o in outcomes]}

    @app.post("/v1/suppressions/{address}/resubscribe")
    def resubscribe(address: str, body: ResubscribeIn, ledger: Auth, request: Request) -> dict[str, Any]:
        ledger.resubscribe(address, scope=body.scope, evidence=body.evidence, actor=_actor(request))
        return {"resubscribed": {"address": address, "scope": body.scope}}

    @app.get("/v1/export")
    def export(
        ledger: Auth, format: Literal["csv", "jsonl"] = "csv",
        reason: Annotated[list[str] | None, Query()] = None, scope: str | None = None,
        since: datetime | None = None, until: datetime | None = None, match: str | None = None,
    ) -> StreamingResponse:
        flt = SuppressionFilter(reason_classes=reason, scope=scope, since=naive_utc(since),
                                until=naive_utc(until), match=match)
        ledger.count_by_class(flt)  # validates the filter before the stream starts
        media = "text/csv" if format == "csv" else "application/x-ndjson"
        chunks = export_mod.render(ledger.iter_export(flt), format)
        return StreamingResponse(chunks, media_type=media, headers={
            "Content-Disposition": f'attachment; filename="suppressions.{format}"'})

    @app.post("/v1/imports/suppressions")
    async def import_suppressions(
        request: Request, ledger: Auth,
        format: Annotated[str, Query(alias="from", description="csv, ses, sendgrid, mailgun, postmark "
                                                              "or mailchimp")] = "csv",
    ) -> dict[str, Any]:
        body = (await request.body()).decode("utf-8-sig", errors="replace")
        rows = list(exports.iter_rows(format, io.StringIO(body, newline="")))
        # In a thread: a big file would hold up every other request (checks) meanwhile.
        summary = await asyncio.to_thread(ledger.import_rows, rows, source=f"import:{format}:http",
                                          actor=_actor(request))
        found = {"rows": summary.rows, "created": summary.created, "reactivated": summary.reactivated,
                 "unchanged": summary.unchanged, "by_class": summary.by_class}
        if settings.verify_on_import:
            screened = await screen_imported(ledger, verification.verifier_of(request),
                                             [r.address for r in rows], source=f"verify:import:{format}:http",
                                             actor=_actor(request))
            found["undeliverable_suppressed"] = screened.created + screened.reactivated
        return found

    @app.post("/v1/events", status_code=201)
    def post_event(body: EventIn, ledger: Auth, request: Request) -> dict[str, Any]:
        outcome = ledger.apply(Feedback(
            address=body.address, kind=body.kind, source=f"api:{_actor(request)}", reason=body.reason,
            hard_bounce=body.hard_bounce, status=body.status, reply_code=body.reply_code,
            diagnostic=body.diagnostic, remote_mta=body.remote_mta, message_id=body.message_id,
            feedback_type=body.feedback_type, scope=body.scope, occurred_at=naive_utc(body.occurred_at),
            idempotency_key=body.event_id,
        ), actor=_actor(request))
        return {"address": outcome.address, "effect": outcome.effect, "reason_class": outcome.reason_class,
                "scope": outcome.scope, "why": outcome.why}

    @app.post("/v1/messages", status_code=201)
    def post_messages(body: MessagesIn, ledger: Auth) -> dict[str, Any]:
        """Record messages sent elsewhere; their status then follows the feedback."""
        recorded = ledger.record_messages([SentMessage(
            m.message_id, m.recipient, m.sender, m.subject, m.stream, m.scope,
            sent_at=naive_utc(m.sent_at)) for m in body.messages])
        return {"recorded": recorded, "already_known": len(body.messages) - recorded}

    @app.get("/v1/contacts/{address}")
    def contact(address: str, ledger: Auth,
                scope: Annotated[list[str] | None, Query(description="Topics to show status for.")] = None,
                ) -> dict[str, Any]:
        """The contact card: status per scope, messages and their status, feedback with
        evidence links, the audit trail."""
        return contact_card(ledger, address, scope)

    @app.get("/v1/audit")
    def audit(ledger: Auth, address: str | None = None, limit: int = 500) -> dict[str, Any]:
        entries = ledger.audit_for(address, limit=None if address else min(limit, 5000))
        return {"entries": [{
            "seq": e.seq, "at": iso(e.at), "actor": e.actor, "action": e.action, "address": e.address,
            "scope": e.scope, "reason_class": e.reason_class, "note": e.note,
            "evidence": json.loads(e.evidence), "hash": e.entry_hash} for e in entries]}

    @app.get("/v1/audit/verify")
    def audit_verify(ledger: Auth) -> dict[str, Any]:
        problem = ledger.verify_audit()
        if problem is None:
            return {"intact": True}
        return {"intact": False, "seq": problem.seq, "entry_id": problem.entry_id, "problem": problem.problem}

    @app.get("/v1/alerts")
    def alerts(ledger: Auth, since: datetime | None = None, limit: int = 500) -> dict[str, Any]:
        return {"alerts": [{
            "at": iso(e.occurred_at), "address": e.address, "reason": e.reason,
            "feedback_type": e.feedback_type, "status": e.status, "reply_code": e.reply_code,
            "remote_mta": e.remote_mta, "diagnostic": e.diagnostic, "source": e.source}
            for e in ledger.alerts(naive_utc(since), min(limit, 5000))],
            # Conditions over many events (rates, bursts, blocklists): see docs/reports.md.
            "report_alerts": reports_api.report_alerts(ledger, naive_utc(since), min(limit, 5000))}

    @app.get("/v1/evidence/{evidence_id}")
    def evidence(evidence_id: int, ledger: Auth) -> Response:
        content_type, body = ledger.evidence(evidence_id)
        return Response(body, media_type=content_type if "/" in content_type else "application/octet-stream")

    @app.get("/v1/unrecognised")
    def unrecognised(ledger: Auth, limit: int = 100, cursor: int | None = None) -> dict[str, Any]:
        """Feedback nobody could read, kept with its raw message."""
        rows = spool.entries(ledger.engine, "unrecognised", ledger.tenant_id, min(limit, 1000), cursor)
        return {"items": [{"id": r.id, "channel": r.channel, "received_at": iso(r.received_at),
                           "envelope": json.loads(r.envelope), "size": r.size,
                           "result": json.loads(r.result) if r.result else None} for r in rows],
                "next_cursor": rows[-1].id if rows and len(rows) == min(limit, 1000) else None}

    @app.get("/v1/unrecognised/{entry_id}/raw")
    def unrecognised_raw(entry_id: int, ledger: Auth) -> Response:
        return Response(spool.raw_of(ledger.engine, entry_id, ledger.tenant_id), media_type="message/rfc822")

    @app.post("/v1/unrecognised/{entry_id}/reprocess")
    def reprocess(entry_id: int, ledger: Auth) -> dict[str, Any]:
        """Queue the entry for the parser again; the intake worker picks it up."""
        spool.raw_of(ledger.engine, entry_id, ledger.tenant_id)  # 404 unless it is this tenant's
        return {"queued": spool.requeue(ledger.engine, [entry_id])}

    # After the routes above: a request is matched against routes in order, and
    # /v1/check, which runs before every send, should not first be tried against
    # each included router's (a third of its time in the server otherwise).
    app.include_router(unsubscribe.router)
    app.include_router(webhooks.router)
    app.include_router(reports_api.router_for(authenticated))
    app.include_router(verification.router_for(authenticated))
    app.include_router(mailbox_api.router_for(authenticated))
    app.include_router(web_pages.router)
    return app


def _actor(request: Request) -> str:
    key = request.headers.get("x-api-key") or request.headers.get("authorization", "")[7:]
    return f"api-key:{key.strip()[:10]}"
