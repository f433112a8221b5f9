"""The webmail's side of the spam filter, under ``/v1/mailbox``: classify a message
(with "why is this in spam?"), the spam and not-spam clicks, sender rules, the user's
data-sharing consent, and senders' feedback addresses.

Messages travel as the raw request body (``message/rfc822``), exactly as stored: the
copy the inbound path delivered, ``X-Spam-*`` fields and all. The user is the
``mailbox`` query parameter (their address)."""

# No "from __future__ import annotations": FastAPI reads the route annotations, which
# name aliases local to router_for.
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from postwarden.ledger import Ledger
from postwarden.mailbox.service import Mailbox, mailbox_key

MAX_MESSAGE = 26_214_400


class RuleIn(BaseModel):
    mailbox: str
    kind: str = Field(description="block, trust or correspondent.")
    match: str = Field(description="address, domain or ip (ip: block rules only).")
    value: str
    action: str | None = Field(None, description="block: spam (default) or reject.")


class CorrespondentsIn(BaseModel):
    mailbox: str
    addresses: list[str] = Field(max_length=1000, description="Addresses the user wrote to.")


class ConsentIn(BaseModel):
    mailbox: str
    share: bool


class FeedbackAddressIn(BaseModel):
    address: str


def _mailbox(request: Request, ledger: Ledger) -> Mailbox:
    boxes: dict[str, Mailbox] = request.app.state.mailboxes
    if ledger.tenant_name not in boxes:
        boxes[ledger.tenant_name] = Mailbox(ledger.engine, ledger.tenant_name, request.app.state.settings)
    return boxes[ledger.tenant_name]


async def _message(request: Request) -> bytes:
    body = await request.body()
    if len(body) > MAX_MESSAGE:
        body = body[:MAX_MESSAGE]
    return body


def router_for(authenticated: Callable[..., Coroutine[Any, Any, Ledger]]) -> APIRouter:
    """The routes, authenticated like every /v1 route (the app passes its dependency)."""
    router = APIRouter(prefix="/v1/mailbox", tags=["mailbox"])
    Auth = Annotated[Ledger, Depends(authenticated)]
    User = Annotated[str, Query(description="The user's address.")]

    @router.post("/classify")
    async def classify(request: Request, ledger: Auth, mailbox: User, explain: int = 8) -> dict[str, Any]:
        """Where this message goes for this user, its score, and why."""
        raw = await _message(request)
        found = await run_in_threadpool(_mailbox(request, ledger).classify, raw, mailbox,
                                        explain=min(max(explain, 0), 50))
        return found.to_json()

    @router.post("/report-spam")
    async def report_spam(
        request: Request, ledger: Auth, mailbox: User,
        share: Annotated[bool | None, Query(description="The answer to the consent question, if "
                                                        "the user gave one with this click.")] = None,
        unsubscribe: Annotated[bool, Query(description="For a trusted sender's mailing: unsubscribe "
                                                       "in one click (RFC 8058).")] = False,
    ) -> dict[str, Any]:
        raw = await _message(request)
        outcome = await run_in_threadpool(_mailbox(request, ledger).report_spam, raw, mailbox, share=share,
                                          unsubscribe=unsubscribe)
        return outcome.to_json()

    @router.post("/report-not-spam")
    async def report_not_spam(request: Request, ledger: Auth, mailbox: User) -> dict[str, Any]:
        raw = await _message(request)
        outcome = await run_in_threadpool(_mailbox(request, ledger).report_not_spam, raw, mailbox)
        return outcome.to_json()

    @router.get("/rules")
    def list_rules(request: Request, ledger: Auth, mailbox: User) -> dict[str, Any]:
        return {"rules": [{"kind": r.kind, "match": r.match, "value": r.value, "action": r.action.value}
                          for r in _mailbox(request, ledger).rules(mailbox)]}

    @router.post("/rules", status_code=201)
    def add_rule(body: RuleIn, request: Request, ledger: Auth) -> dict[str, Any]:
        box = _mailbox(request, ledger)
        rule = box.add_rule(body.mailbox, body.kind, body.match, body.value, body.action)
        return {"kind": rule.kind, "match": rule.match, "value": rule.value, "action": rule.action.value}

    @router.delete("/rules")
    def remove_rule(request: Request, ledger: Auth, mailbox: User, kind: str, match: str,
                    value: str) -> dict[str, Any]:
        return {"removed": _mailbox(request, ledger).remove_rule(mailbox, kind, match, value)}

    @router.post("/correspondents")
    def correspondents(body: CorrespondentsIn, request: Request, ledger: Auth) -> dict[str, Any]:
        """The user sent mail to these addresses: their mail goes to the inbox."""
        return {"added": _mailbox(request, ledger).wrote_to(body.mailbox, body.addresses)}

    @router.get("/consent")
    def get_consent(request: Request, ledger: Auth, mailbox: User) -> dict[str, Any]:
        state = _mailbox(request, ledger).db.consent(mailbox_key(mailbox))
        return {"mailbox": mailbox, "share": state, "asked_at_next_spam_click": state != "accepted"}

    @router.put("/consent")
    def put_consent(body: ConsentIn, request: Request, ledger: Auth) -> dict[str, Any]:
        state = _mailbox(request, ledger).set_consent(body.mailbox, body.share)
        return {"mailbox": body.mailbox, "share": state}

    @router.put("/feedback-addresses/{domain}")
    def feedback_address(domain: str, body: FeedbackAddressIn, request: Request,
                         ledger: Auth) -> dict[str, Any]:
        """Register where complaint reports about mail from ``domain`` go."""
        _mailbox(request, ledger).db.set_feedback_address(domain, body.address)
        return {"domain": domain.lower(), "address": body.address.lower()}

    @router.get("/reports")
    def reports(request: Request, ledger: Auth, mailbox: str | None = None,
                limit: int = 100) -> dict[str, Any]:
        """Complaint reports sent (or skipped, or failed), newest first."""
        box = _mailbox(request, ledger)
        return {"reports": box.db.reports(mailbox_key(mailbox) if mailbox else None, min(limit, 1000))}

    return router
