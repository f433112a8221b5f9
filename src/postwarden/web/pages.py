"""The web interface's pages: one route per page or form, each rendering one template.

Pages are served by `postwarden serve` beside the API. A page needs a signed-in
operator (its session names the tenant, so every read goes through that tenant's
``Ledger``); a form also needs the session's CSRF token. Errors are rendered as an
HTML page in one place (:class:`PageRoute`), never as the API's JSON."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import cache
from importlib import resources
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from fastapi.routing import APIRoute
from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy import Engine

from postwarden import settings as settings_mod
from postwarden.address import normalize
from postwarden.errors import InvalidInput, NotFound, PolicyRefused, PostwardenError
from postwarden.gate.contact import contact_card
from postwarden.intake import spool
from postwarden.ledger import Consent, Ledger, policy
from postwarden.ledger import export as export_mod
from postwarden.ledger.audit import ChainProblem
from postwarden.reports import alerts as report_alerts
from postwarden.reports import charts as report_charts
from postwarden.reports import stats as report_stats
from postwarden.reports.providers import provider_label
from postwarden.reports.service import Reports
from postwarden.verify.recheck import recheck
from postwarden.verify.service import shared_verifier
from postwarden.web import accounts, views

SESSION_COOKIE = "pw_session"
# Before there is a session, the sign-in form is protected by a double-submit cookie.
SIGN_IN_COOKIE = "pw_sign_in"
AUDIT_SEARCH_WINDOW = 5000
AUTO_VERIFY_ENTRIES = 100_000
ALERT_WINDOW_DAYS = 30
RAW_SHOWN = 512 * 1024

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; style-src 'self'; script-src 'self'; "
                               "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; "
                               "base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


class SignInRequired(Exception):
    """No live session: the browser is sent to the sign-in page."""


class PageRoute(APIRoute):
    """Renders postwarden's errors and bad requests as pages, and sends a browser
    without a session to sign in."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except SignInRequired:
                target = request.url.path if request.method == "GET" else "/"
                if request.method == "GET" and request.url.query:
                    target += "?" + request.url.query
                return RedirectResponse(f"/sign-in?next={quote(target)}", status_code=303)
            except PostwardenError as exc:
                return await asyncio.to_thread(error_page, request, exc.http_status, exc.message)
            except RequestValidationError:
                return await asyncio.to_thread(
                    error_page, request, 400, "That address in the browser is not one this interface "
                                              "knows. Use the links on the page.")

        return handle


router = APIRouter(route_class=PageRoute, include_in_schema=False)


@cache
def _templates() -> Environment:
    env = Environment(loader=PackageLoader("postwarden.web", "templates"),
                      autoescape=select_autoescape(default=True), trim_blocks=True, lstrip_blocks=True)
    env.globals.update(class_label=views.class_label, when=views.when, CLASS_TONES=views.CLASS_TONES,
                       MESSAGE_TONES=views.MESSAGE_TONES, quote=lambda s: quote(s, safe="@"),
                       static_url=static_url)
    return env


def render(request: Request, template: str, session: accounts.Session | None = None,
           status: int = 200, **context: Any) -> HTMLResponse:
    flash = session.flash_parts() if session is not None else None
    if session is not None and flash is not None:
        accounts.clear_flash(_engine(request), session)
    html = _templates().get_template(template).render(
        session=session, flash=flash, path=request.url.path, **context)
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    token = request.cookies.get(SESSION_COOKIE)
    session = None
    # The header shows who is signed in, unless the database itself is what failed.
    with contextlib.suppress(PostwardenError):
        session = accounts.session_for(_engine(request), token) if token else None
    titles = {401: "Not signed in", 403: "Not allowed", 404: "Not found", 409: "Not done",
              503: "The database cannot be reached"}
    return render(request, "error.html", session, status=status,
                  title=titles.get(status, "That did not work"), message=message)


def _engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def _settings(request: Request) -> settings_mod.Settings:
    settings: settings_mod.Settings = request.app.state.settings
    return settings


# ---- who is asking --------------------------------------------------------------------


def signed_in(request: Request) -> accounts.Session:
    token = request.cookies.get(SESSION_COOKIE)
    session = accounts.session_for(_engine(request), token) if token else None
    if session is None:
        raise SignInRequired
    return session


Signed = Annotated[accounts.Session, Depends(signed_in)]


@dataclass(frozen=True)
class Posted:
    """A form posted by a signed-in operator, its CSRF token checked."""

    session: accounts.Session
    form: Mapping[str, str]

    def get(self, name: str) -> str:
        return self.form.get(name, "").strip()


async def posted(request: Request, session: Signed) -> Posted:
    form = await request.form()
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    if not session.csrf_ok(values.get("csrf", "")):
        raise _Forbidden("This form has expired or did not come from this site. Go back, reload the "
                         "page and try again.")
    return Posted(session, values)


Form = Annotated[Posted, Depends(posted)]


class _Forbidden(PostwardenError):
    code = "csrf_refused"
    http_status = 403


def ledger_for(request: Request, session: accounts.Session) -> Ledger:
    ledgers: dict[str, Ledger] = request.app.state.ledgers
    if session.tenant not in ledgers:
        ledgers[session.tenant] = Ledger(_engine(request), session.tenant, _settings(request))
    return ledgers[session.tenant]


def actor(session: accounts.Session) -> str:
    return f"web:{session.operator}"


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def done(request: Request, session: accounts.Session, message: str, url: str,
         tone: str = "ok") -> RedirectResponse:
    """After a change: leave its result for the next page, and go there (so reloading
    that page does not post the form again)."""
    accounts.set_flash(_engine(request), session, message, tone)
    return redirect(url)


def card_url(address: str) -> str:
    return "/contacts/" + quote(address, safe="@")


# ---- sign-in --------------------------------------------------------------------------


def _safe_next(target: str) -> str:
    """Only a path on this site: never another host (an open redirect)."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


@router.get("/sign-in")
def sign_in_page(request: Request, next: str = "/") -> Response:
    return _sign_in_form(request, next, "", "", None, 200)


def _sign_in_form(request: Request, next_url: str, tenant: str, name: str, problem: str | None,
                  status: int) -> Response:
    token = accounts.new_token()
    response = render(request, "sign_in.html", status=status, csrf=token, next=_safe_next(next_url),
                      tenant=tenant, name=name, problem=problem, title="Sign in")
    _set_cookie(request, response, SIGN_IN_COOKIE, token, max_age=3600)
    return response


@router.post("/sign-in")
async def sign_in(request: Request) -> Response:
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    next_url = _safe_next(form.get("next", "/"))
    tenant, name = form.get("tenant", "").strip(), form.get("name", "").strip()
    cookie = request.cookies.get(SIGN_IN_COOKIE, "")
    if not cookie or not accounts.same(cookie, form.get("csrf", "")):
        return _sign_in_form(request, next_url, tenant, name, "The sign-in form had expired. "
                             "Please try again.", 403)
    settings = _settings(request)
    lifetime = timedelta(hours=float(settings.web_session_hours))
    throttle = _throttle(request)
    tenant = tenant or "default"
    wait = throttle.wait(tenant, name)
    if wait:
        return _sign_in_form(request, next_url, tenant, name, "Too many failed sign-ins for this operator. "
                             f"Try again in {max(1, round(wait / 60))} minutes.", 429)
    # Off the event loop: the argon2 check takes tens of milliseconds on purpose.
    token = await asyncio.to_thread(accounts.sign_in, _engine(request), tenant, name,
                                    form.get("password", ""), lifetime)
    if token is None:
        throttle.failed(tenant, name)
        return _sign_in_form(request, next_url, tenant, name, "That account, name and password do not "
                             "match an operator. Check them and try again.", 401)
    throttle.succeeded(tenant, name)
    response = redirect(next_url)
    _set_cookie(request, response, SESSION_COOKIE, token, max_age=int(lifetime.total_seconds()))
    response.delete_cookie(SIGN_IN_COOKIE, path="/")
    return response


def _throttle(request: Request) -> accounts.SignInThrottle:
    state = request.app.state
    if not hasattr(state, "web_sign_in_throttle"):
        state.web_sign_in_throttle = accounts.SignInThrottle()
    throttle: accounts.SignInThrottle = state.web_sign_in_throttle
    return throttle


def _set_cookie(request: Request, response: Response, name: str, value: str, max_age: int) -> None:
    response.set_cookie(name, value, max_age=max_age, path="/", httponly=True, samesite="lax",
                        secure=bool(_settings(request).web_cookie_secure))


@router.post("/sign-out")
def sign_out(request: Request, form: Form) -> Response:
    accounts.sign_out(_engine(request), form.session)
    response = redirect("/sign-in")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# ---- the suppression list -------------------------------------------------------------


@router.get("/")
def home(_: Signed) -> Response:
    return redirect("/suppressions")


@router.get("/suppressions")
def suppressions(request: Request, session: Signed) -> Response:
    ledger = ledger_for(request, session)
    query = views.list_query(request.query_params)
    flt = query.filter()
    page_size = int(_settings(request).page_size)
    rows = ledger.find(flt, limit=page_size + 1, after_id=query.after)
    counts = ledger.count_by_class(flt)
    # The counts per reason ignore the reason chosen, so every chip shows what picking it gives.
    class_counts = ledger.count_by_class(replace(query, reason_class="", problems=[]).filter())
    more = len(rows) > page_size
    rows = rows[:page_size]
    first = (query.page - 1) * page_size + 1
    return render(request, "suppressions.html", session, title="Suppressions", q=query, rows=rows,
                  total=sum(counts.values()), class_counts=class_counts, first=first,
                  next_params=query.params(after=rows[-1].id, page=query.page + 1) if more else None,
                  classes=policy.REASON_CLASSES, bounce_reasons=views.BOUNCE_REASONS,
                  scopes=_settings(request).scopes)


@router.get("/suppressions/export.csv")
def export_csv(request: Request, session: Signed) -> Response:
    ledger = ledger_for(request, session)
    query = views.list_query(request.query_params)
    flt = query.filter()
    if query.problems:
        raise InvalidInput(" ".join(query.problems))
    name = "-".join(["suppressions", query.reason_class or query.state,
                     datetime.now(UTC).strftime("%Y%m%d-%H%M")])
    return StreamingResponse(export_mod.render(ledger.iter_export(flt), "csv"), media_type="text/csv",
                             headers={**SECURITY_HEADERS,
                                      "Content-Disposition": f'attachment; filename="{name}.csv"'})


# ---- the contact card -----------------------------------------------------------------


@router.get("/contacts")
def find_contact(address: str = "") -> Response:
    """The search box in the header: straight to the card of the address typed."""
    if not address.strip():
        return redirect("/suppressions")
    if "*" in address or "?" in address or "@" not in address:
        return redirect("/suppressions?" + views.ListQuery(match=address.strip(), state="all").params())
    return redirect(card_url(normalize(address)))


@router.get("/contacts/{address:path}")
def contact(request: Request, address: str, session: Signed) -> Response:
    return _card(request, session, address)


def _card(request: Request, session: accounts.Session, address: str, status: int = 200,
          consent: views.ConsentForm | None = None, consent_errors: Mapping[str, str] | None = None,
          refusal: str | None = None) -> Response:
    ledger = ledger_for(request, session)
    card = contact_card(ledger, address)
    active = [s for s in card["suppressions"] if s["state"] == "active"]
    active_classes = {s["reason_class"] for s in active}
    badges = {scope: views.status_badge(st) for scope, st in card["status"].items()}
    return render(
        request, "contact.html", session, status=status, title=card["address"], card=card,
        badges=badges, active=active, active_classes=active_classes,
        consent=consent or views.ConsentForm(), consent_errors=consent_errors or {}, refusal=refusal,
        consent_methods=views.CONSENT_METHOD_LABELS, class_why=views.CLASS_WHY,
        can_check_again=any(ledger.lift_rule(cls)[0] == "recheck" for cls in active_classes),
        operator_liftable=[s for s in active if ledger.lift_rule(s["reason_class"])[0] == "operator"],
        complaint_scopes=sorted({s["scope"] for s in active if s["reason_class"] == "complaint"}),
        evidence_id=_evidence_id, reasons=views.REASON_DESCRIPTIONS, effects=views.EFFECT_LABELS,
        url=card_url(card["address"]))


def _evidence_id(link: str | None) -> str | None:
    """The card names evidence by its API link; the web shows it on a page of its own."""
    return link.rpartition("/")[2] if link else None


@router.post("/contacts/{address:path}/lift-with-consent")
def lift_with_consent(request: Request, address: str, form: Form) -> Response:
    session = form.session
    ledger = ledger_for(request, session)
    entered = views.ConsentForm(form.get("confirmed_by"), form.get("method"), form.get("ticket"),
                                form.get("evidence"))
    consent = Consent(entered.confirmed_by, entered.method, entered.evidence, entered.ticket or None)
    note = "lifted with the recipient's consent" + (f" (ticket {entered.ticket})" if entered.ticket else "")
    try:
        # The ledger decides, and records a refusal in the audit log too.
        ledger.lift(address, note=note, actor=actor(session), scope=form.get("scope") or None,
                    consent=consent)
    except PolicyRefused as exc:
        return _card(request, session, address, status=409, consent=entered,
                     consent_errors=entered.errors(), refusal=exc.message)
    return done(request, session, "Lifted with the recipient's consent. The audit trail records who "
                "confirmed it and how.", card_url(normalize(address)))


@router.post("/contacts/{address:path}/lift")
def operator_lift(request: Request, address: str, form: Form) -> Response:
    session = form.session
    note = form.get("note")
    if not note:
        raise InvalidInput("Say why you lift this suppression: the note is kept in the audit trail.")
    ledger_for(request, session).lift(address, note=note, actor=actor(session),
                                      scope=form.get("scope") or None)
    return done(request, session, "Lifted. Mail to this address may be sent again.",
                card_url(normalize(address)))


@router.post("/contacts/{address:path}/check-again")
async def check_again(request: Request, address: str, form: Form) -> Response:
    """Verify the address afresh; the verifier's DNS questions run on this event loop."""
    session = form.session
    ledger = await asyncio.to_thread(ledger_for, request, session)
    try:
        result = await recheck(ledger, shared_verifier(request.app.state), address, actor=actor(session),
                               note="asked on the contact card")
        message, tone = views.recheck_message(result.passed, result.verification), (
            "ok" if result.passed else "warn")
    except PolicyRefused:
        message, tone = ("Check again only lifts hard bounces and invalid addresses; nothing else here "
                         "can be lifted that way. The attempt is recorded in the audit trail.", "warn")
    return await asyncio.to_thread(done, request, session, message, card_url(normalize(address)), tone)




@router.post("/contacts/{address:path}/suppress")
def suppress(request: Request, address: str, form: Form) -> Response:
    session = form.session
    note = form.get("note")
    if not note:
        raise InvalidInput("Say why you stop mail to this address: the note is kept in the audit trail.")
    ledger = ledger_for(request, session)
    outcome = ledger.suppress(address, "manual", scope=form.get("scope") or "*", note=note,
                              actor=actor(session))
    where = "all mail" if outcome.scope == "*" else f"mail on {outcome.scope!r}"
    return done(request, session, f"Suppressed by hand: no {where} goes to {outcome.address}.",
                card_url(outcome.address))


@router.get("/evidence/{evidence_id}")
def evidence(request: Request, evidence_id: int, session: Signed) -> Response:
    content_type, body = ledger_for(request, session).evidence(evidence_id)
    return render(request, "raw.html", session, title=f"Evidence {evidence_id}",
                  heading="Raw evidence", content_type=content_type, size=len(body),
                  text=_readable(content_type, body), download=f"/evidence/{evidence_id}/raw")


@router.get("/evidence/{evidence_id}/raw")
def evidence_raw(request: Request, evidence_id: int, session: Signed) -> Response:
    _, body = ledger_for(request, session).evidence(evidence_id)
    return _download(body, f"evidence-{evidence_id}.txt")


def _readable(content_type: str, body: bytes) -> str:
    text = body[:RAW_SHOWN].decode("utf-8", errors="replace")
    if content_type.endswith("json"):
        with contextlib.suppress(ValueError):
            text = json.dumps(json.loads(body), indent=2, ensure_ascii=False)
    return text


def _download(body: bytes, filename: str) -> Response:
    # Served as plain text whatever it is: raw mail must never render as a page here.
    return Response(body, media_type="text/plain; charset=utf-8", headers={
        **SECURITY_HEADERS, "Content-Disposition": f'attachment; filename="{filename}"'})


# ---- audit log ------------------------------------------------------------------------


@router.get("/audit")
def audit(request: Request, session: Signed, q: str = "", address: str = "", verify: str = "") -> Response:
    ledger = ledger_for(request, session)
    if address.strip():
        entries = list(reversed(ledger.audit_for(address.strip())))
    else:
        entries = ledger.audit_for(None, limit=AUDIT_SEARCH_WINDOW)
    needle = q.strip().lower()
    if needle:
        entries = [e for e in entries if needle in " ".join(
            str(v) for v in (e.address, e.actor, e.action, e.note, e.scope, e.reason_class)).lower()]
    seq = ledger.change_sequence()
    return render(request, "audit.html", session, title="Audit log", entries=entries[:500],
                  matched=len(entries), q=q, address=address, seq=seq,
                  chain=_chain_status(request, ledger, seq, asked=bool(verify)),
                  window=AUDIT_SEARCH_WINDOW, evidence_of=_audit_evidence)


@dataclass(frozen=True)
class ChainStatus:
    seq: int
    problem: ChainProblem | None
    checked_at: datetime


def _chain_status(request: Request, ledger: Ledger, seq: int, asked: bool) -> ChainStatus | None:
    """The audit chain's verification, kept per tenant and walked again when the chain
    has grown. A long chain takes a while to walk (about 20 s per million entries), so
    beyond AUTO_VERIFY_ENTRIES it is walked only when the operator asks; meanwhile the
    last result is shown with how far it reached."""
    state = request.app.state
    if not hasattr(state, "web_chain_status"):
        state.web_chain_status = {}
    cache: dict[int, ChainStatus] = state.web_chain_status
    known = cache.get(ledger.tenant_id)
    if known is not None and known.seq == seq:
        return known
    if asked or seq <= AUTO_VERIFY_ENTRIES:
        known = ChainStatus(seq, ledger.verify_audit(), datetime.now(UTC).replace(tzinfo=None))
        cache[ledger.tenant_id] = known
    return known


def _audit_evidence(text: str) -> list[tuple[str, str]]:
    try:
        value = json.loads(text)
    except ValueError:
        return [("evidence", text)]
    if not isinstance(value, dict):
        return [("evidence", text)]
    return [(str(k), str(v)) for k, v in value.items() if v not in (None, "", [], {})]


# ---- unrecognised feedback ------------------------------------------------------------


def _own_entries(request: Request, ledger: Ledger, after: int | None, limit: int) -> list[Any]:
    """Unrecognised spool entries this tenant's operators may read: their own, and
    input that named no tenant only for the tenant the intake files such feedback
    under (the ``intake_tenant`` setting). No operator sees another tenant's mail."""
    rows = spool.entries(_engine(request), "unrecognised", ledger.tenant_id, limit, after)
    return [r for r in rows if _owned(request, ledger, r.tenant_id)]


def _owned(request: Request, ledger: Ledger, tenant_id: int | None) -> bool:
    if tenant_id is None:
        return ledger.tenant_name == str(_settings(request).intake_tenant)
    return tenant_id == ledger.tenant_id


@router.get("/unrecognised")
def unrecognised(request: Request, session: Signed, after: int | None = None) -> Response:
    ledger = ledger_for(request, session)
    page_size = int(_settings(request).page_size)
    rows = _own_entries(request, ledger, after, page_size + 1)
    items = [{"id": r.id, "channel": r.channel, "received_at": r.received_at, "size": r.size,
              "envelope": json.loads(r.envelope), "result": _result_text(r.result)}
             for r in rows[:page_size]]
    return render(request, "unrecognised.html", session, title="Unrecognised feedback", items=items,
                  next_after=items[-1]["id"] if len(rows) > page_size else None)


def _result_text(result: str | None) -> str:
    """The worker's notes on why it could not read an entry."""
    if not result:
        return ""
    try:
        value = json.loads(result)
    except ValueError:
        return result
    if isinstance(value, dict) and value.get("notes"):
        return "; ".join(str(n) for n in value["notes"])
    return ""


def _own_raw(request: Request, ledger: Ledger, entry_id: int) -> bytes:
    rows = spool.entries(_engine(request), "unrecognised", ledger.tenant_id, 1, entry_id - 1)
    if not rows or rows[0].id != entry_id or not _owned(request, ledger, rows[0].tenant_id):
        raise NotFound(f"There is no unrecognised message number {entry_id} (it may have been "
                       "re-processed already).")
    return spool.raw_of(_engine(request), entry_id, ledger.tenant_id)


@router.get("/unrecognised/{entry_id}")
def unrecognised_entry(request: Request, entry_id: int, session: Signed) -> Response:
    body = _own_raw(request, ledger_for(request, session), entry_id)
    return render(request, "raw.html", session, title=f"Unrecognised message {entry_id}",
                  heading=f"Unrecognised message {entry_id}", content_type="message/rfc822",
                  size=len(body), text=_readable("message/rfc822", body),
                  download=f"/unrecognised/{entry_id}/raw", reprocess=entry_id)


@router.get("/unrecognised/{entry_id}/raw")
def unrecognised_raw(request: Request, entry_id: int, session: Signed) -> Response:
    body = _own_raw(request, ledger_for(request, session), entry_id)
    return _download(body, f"unrecognised-{entry_id}.eml.txt")


@router.post("/unrecognised/{entry_id}/reprocess")
def reprocess(request: Request, entry_id: int, form: Form) -> Response:
    _own_raw(request, ledger_for(request, form.session), entry_id)
    spool.requeue(_engine(request), [entry_id])
    return done(request, form.session, f"Message {entry_id} is queued to be read again. If the parser "
                "now understands it, it leaves this list and its feedback reaches the ledger.",
                "/unrecognised")


# ---- sender-side alerts ---------------------------------------------------------------


@router.get("/alerts")
def alerts(request: Request, session: Signed, days: int = ALERT_WINDOW_DAYS) -> Response:
    days = max(1, min(days, 365))
    since = datetime.now(UTC).replace(tzinfo=None) - timedelta(days=days)
    ledger = ledger_for(request, session)
    rows = ledger.alerts(since, limit=5000)
    return render(request, "alerts.html", session, title="Sender-side alerts", rows=rows[:200],
                  conditions=report_alerts.listed(_engine(request), ledger.tenant_id, since, 100),
                  provider_label=provider_label,
                  providers=views.alerts_by_provider(rows), kinds=views.ALERT_KIND_ORDER, days=days,
                  kind_of=views.alert_kind, provider_of=views.provider_of, reasons=views.REASON_DESCRIPTIONS)


# ---- reports (docs/reports.md) --------------------------------------------------------


@router.get("/reports")
def reports(request: Request, session: Signed, provider: str = "all", days: int = 90) -> Response:
    days = max(7, min(days, 365))
    service = Reports.of(ledger_for(request, session))
    since = service.clock() - timedelta(days=days)
    found = service.stats(since.date())
    chosen = next((s for s in found if s.provider == provider), None)
    shown = chosen or report_stats.combined(found, "all")
    steps = service.steps(since, chosen.provider if chosen else None)
    lines = report_stats.Lines.of(service.settings)
    name = shown.label if chosen else "All providers"
    svg = report_charts.provider_svg(shown, lines, steps, title=f"{name}: daily volume and rates")
    return render(request, "reports.html", session, title="Reports", found=found, shown=shown,
                  provider=chosen.provider if chosen else "all", days=days, lines=lines, steps=steps,
                  chart=svg[svg.index("<svg"):])


# ---- the style sheet ------------------------------------------------------------------


@cache
def _static(name: str) -> bytes:
    return resources.files("postwarden.web").joinpath("static", name).read_bytes()


@cache
def static_url(name: str) -> str:
    """The file's address with a digest of its content, so that browsers keep it for
    an hour yet fetch it again at once after an upgrade changed it."""
    return f"/static/{name}?v={hashlib.sha256(_static(name)).hexdigest()[:12]}"


STATIC_TYPES = {"web.css": "text/css; charset=utf-8", "web.js": "text/javascript; charset=utf-8"}


@router.get("/static/{name}")
def static(name: str) -> Response:
    if name not in STATIC_TYPES:
        raise NotFound(f"no file {name!r}")
    return Response(_static(name), media_type=STATIC_TYPES[name],
                    headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"})
