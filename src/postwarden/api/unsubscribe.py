"""The RFC 8058 one-click endpoint. A POST with ``List-Unsubscribe=One-Click``
unsubscribes at once: no login, no redirect, no cookies, idempotent. A GET only
shows a page asking to confirm, because mail scanners fetch every link they see."""

from __future__ import annotations

import html
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, PlainTextResponse

from postwarden.ledger import Feedback, Ledger
from postwarden.ledger.secrets import token_key
from postwarden.ledger.service import utcnow
from postwarden.ledger.tenants import tenant_name
from postwarden.tokens import BadToken, UnsubscribeRef, unsubscribe_decode

router = APIRouter(include_in_schema=True, tags=["unsubscribe"])

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>{title}</title>
<style>
body{{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#1b1f24}}
button{{font:inherit;padding:.6rem 1.2rem;border-radius:6px;border:0;background:#0b57d0;color:#fff}}
button:focus{{outline:3px solid #f9ab00}}
</style></head>
<body><main><h1>{title}</h1>{body}</main></body></html>"""


def _ref(request: Request, token: str) -> UnsubscribeRef:
    state = request.app.state
    if getattr(state, "token_key", None) is None:
        state.token_key = token_key(state.engine, state.settings)
    return unsubscribe_decode(state.token_key, token)


def _scope_words(scope: str) -> str:
    return "all mail from this sender" if scope == "*" else f"the “{html.escape(scope)}” mailings"


@router.get("/u/{token}", response_class=HTMLResponse)
def confirm_page(token: str, request: Request) -> HTMLResponse:
    try:
        ref = _ref(request, token)
    except BadToken:
        return HTMLResponse(PAGE.format(title="This link is not valid", body="<p>The unsubscribe link "
                            "is damaged or incomplete. Copy the whole link from the message, or reply "
                            "to the sender.</p>"), status_code=400)
    body = (f"<p>Stop sending {_scope_words(ref.scope)} to <strong>{html.escape(ref.recipient)}</strong>?</p>"
            f'<form method="post" action="/u/{html.escape(token)}">'
            '<input type="hidden" name="List-Unsubscribe" value="One-Click">'
            '<button type="submit">Unsubscribe</button></form>')
    return HTMLResponse(PAGE.format(title="Unsubscribe", body=body))


@router.post("/u/{token}")
def one_click(token: str, request: Request,
              list_unsubscribe: Annotated[str | None, Form(alias="List-Unsubscribe")] = None,
              ) -> PlainTextResponse:
    try:
        ref = _ref(request, token)
    except BadToken as exc:
        return PlainTextResponse(f"not unsubscribed: {exc.message}\n", status_code=400)
    if list_unsubscribe != "One-Click":
        return PlainTextResponse("not unsubscribed: the body must be List-Unsubscribe=One-Click "
                                 "(RFC 8058)\n", status_code=400)
    state = request.app.state
    ledger = Ledger(state.engine, tenant_name(state.engine, ref.tenant_id), state.settings)
    # Repeated clicks and provider retries find the unsubscribe in place and change nothing;
    # a click after a re-subscription unsubscribes again, as it should.
    if not _already_unsubscribed(ledger, ref):
        ledger.apply(Feedback(address=ref.recipient, kind="unsubscribe", source="one-click",
                              scope=ref.scope, occurred_at=utcnow()), actor="recipient")
    return PlainTextResponse(f"unsubscribed {ref.recipient} from {ref.scope}\n")


def _already_unsubscribed(ledger: Ledger, ref: UnsubscribeRef) -> bool:
    rows = ledger.suppressions_for(ref.recipient)
    return any(r.state == "active" and r.reason_class == "unsubscribe" and r.scope in ("*", ref.scope)
               for r in rows)
