"""Sign-in, sessions, CSRF and tenant isolation of the web pages, over HTTP against
a real server, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import Engine, select

from postwarden.intake import spool
from postwarden.ledger import Feedback, Ledger
from postwarden.ledger.models import SPOOL
from postwarden.ledger.tenants import create_tenant
from postwarden.web import accounts
from tests.web.conftest import PASSWORD, Browser

MakeBrowser = Callable[[str], Browser]


def test_pages_need_a_session_and_send_the_browser_to_sign_in(browser_for: MakeBrowser, tenant: str) -> None:
    anonymous = browser_for(tenant)
    for path in ("/", "/suppressions", "/contacts/a@example.com", "/audit", "/alerts", "/unrecognised",
                 "/evidence/1", "/suppressions/export.csv"):
        response = anonymous.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/sign-in?next=")
    refused = anonymous.client.post("/contacts/a@example.com/suppress", data={"note": "x", "csrf": "x"})
    assert refused.status_code == 303 and refused.headers["location"].startswith("/sign-in")


def test_sign_in_sets_a_strict_cookie_and_sign_out_ends_the_session(
        browser_for: MakeBrowser, tenant: str, operator: str) -> None:
    browser = browser_for(tenant)
    response = browser.sign_in(operator)
    assert response.status_code == 303 and response.headers["location"] == "/suppressions"
    cookie = next(h for h in response.headers.get_list("set-cookie") if h.startswith("pw_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # web_cookie_secure is off by default, for plain-http loopback
    page = browser.get("/suppressions")
    assert page.status_code == 200 and "alice" in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    stolen = browser.client.cookies["pw_session"]

    assert browser.post("/sign-out", {}, token_from="/suppressions").status_code == 303
    assert browser.get("/suppressions").status_code == 303
    # The old cookie is dead on the server, not only forgotten by this browser.
    other = browser_for(tenant)
    other.client.cookies.set("pw_session", stolen)
    assert other.get("/suppressions").status_code == 303


def test_wrong_password_unknown_operator_and_disabled_account_are_refused_alike(
        browser_for: MakeBrowser, engine: Engine, tenant: str, operator: str) -> None:
    browser = browser_for(tenant)
    for name, password in ((operator, "not the password"), ("mallory", PASSWORD)):
        response = browser.sign_in(name, password)
        assert response.status_code == 401
        assert "do not match an operator" in response.text
        assert "pw_session" not in browser.client.cookies
    assert browser_for("no-such-tenant").sign_in(operator).status_code == 401

    signed_in = browser_for(tenant)
    assert signed_in.sign_in(operator).status_code == 303
    accounts.disable_operator(engine, tenant, operator)
    assert signed_in.get("/suppressions").status_code == 303
    assert browser_for(tenant).sign_in(operator).status_code == 401
    accounts.set_password(engine, tenant, operator, "a new long password")
    assert browser_for(tenant).sign_in(operator, "a new long password").status_code == 303


def test_sessions_expire(engine: Engine, tenant: str, operator: str) -> None:
    live = accounts.sign_in(engine, tenant, operator, PASSWORD, timedelta(hours=1))
    expired = accounts.sign_in(engine, tenant, operator, PASSWORD, timedelta(seconds=-1))
    assert live is not None and expired is not None
    assert accounts.session_for(engine, live) is not None
    assert accounts.session_for(engine, expired) is None
    assert accounts.session_for(engine, "made-up") is None


def test_sign_in_form_needs_its_own_csrf_cookie_and_never_redirects_off_site(
        browser_for: MakeBrowser, tenant: str, operator: str) -> None:
    browser = browser_for(tenant)
    forged = browser.client.post("/sign-in", data={"csrf": "guess", "tenant": tenant, "name": operator,
                                                   "password": PASSWORD})
    assert forged.status_code == 403 and "pw_session" not in browser.client.cookies
    token = browser.csrf("/sign-in")
    response = browser.client.post("/sign-in", data={"csrf": token, "tenant": tenant, "name": operator,
                                                     "password": PASSWORD, "next": "//evil.example/x"})
    assert response.status_code == 303 and response.headers["location"] == "/"


def test_every_form_refuses_a_missing_or_wrong_csrf_token(browser: Browser, engine: Engine,
                                                          tenant: str) -> None:
    ledger = Ledger(engine, tenant)
    ledger.apply(Feedback("pat@example.org", "complaint", "fbl", feedback_type="abuse"))
    ledger.suppress("soft@example.org", "manual", note="test", actor="test")
    entry = spool.enqueue(engine, "smtp", {"mail_from": "x@y"}, b"Subject: ?\r\n\r\n?", ledger.tenant_id,
                          state="unrecognised")
    forms = [
        ("/contacts/new@example.org/suppress", {"note": "asked by phone", "scope": "*"}),
        ("/contacts/soft@example.org/lift", {"note": "ok", "scope": "*"}),
        ("/contacts/pat@example.org/lift-with-consent", {"confirmed_by": "Ann", "method": "email",
                                                         "evidence": "yes please", "scope": "*"}),
        ("/contacts/new@example.org/check-again", {}),
        (f"/unrecognised/{entry}/reprocess", {}),
        ("/sign-out", {}),
    ]
    before = ledger.audit_for(None)
    for path, data in forms:
        for token in (None, "wrong", ""):
            sent = dict(data) if token is None else {**data, "csrf": token}
            response = browser.client.post(path, data=sent)
            assert response.status_code == 403, path
            assert "did not come from this site" in response.text
    assert ledger.audit_for(None) == before
    assert browser.get("/suppressions").status_code == 200  # still signed in
    with engine.connect() as conn:
        assert conn.execute(select(SPOOL.c.state).where(SPOOL.c.id == entry)).scalar() == "unrecognised"
    # The same form with the page's token goes through.
    done = browser.post("/contacts/new@example.org/suppress", {"note": "asked by phone", "scope": "*"},
                        token_from="/contacts/new@example.org")
    assert done.status_code == 303
    assert ledger.check(["new@example.org"])[0].verdict == "suppressed"


def test_an_operator_never_sees_another_tenants_data(browser: Browser, engine: Engine, tenant: str) -> None:
    other = f"{tenant}-other"
    create_tenant(engine, other)
    theirs = Ledger(engine, other)
    raw = b"From: fbl@example.net\r\nSubject: abuse report\r\n\r\nsecret of the other tenant\r\n"
    theirs.apply(Feedback("victim@example.net", "complaint", "fbl", feedback_type="abuse", raw=raw))
    evidence_id = theirs.events_for("victim@example.net")[0].evidence_id
    entry = spool.enqueue(engine, "smtp", {"mail_from": "x@other"}, b"Subject: theirs\r\n\r\nsecret",
                          theirs.tenant_id, state="unrecognised")
    Ledger(engine, tenant).suppress("mine@example.com", "manual", note="mine", actor="test")
    # Mail that named no tenant belongs to the intake tenant ("default" here), not to this one.
    unnamed = spool.enqueue(engine, "smtp", {"mail_from": "x@nowhere"}, b"Subject: unnamed\r\n\r\nsecret",
                            None, state="unrecognised")

    listing = browser.get("/suppressions", state="all")
    assert "mine@example.com" in listing.text and "victim@example.net" not in listing.text
    card = browser.get("/contacts/victim@example.net")
    assert card.status_code == 200
    assert "Can receive mail" in card.text and "Spam complaint" not in card.text
    assert "No bounce, complaint or unsubscribe has been received" in card.text
    assert "Nothing has been recorded for this address" in card.text
    assert "victim@example.net" not in browser.get("/audit").text
    assert "No entry matches" in browser.get("/audit", address="victim@example.net").text
    export = browser.get("/suppressions/export.csv", state="all")
    assert [r["address"] for r in csv.DictReader(io.StringIO(export.text))] == ["mine@example.com"]
    assert browser.get(f"/evidence/{evidence_id}").status_code == 404
    assert browser.get(f"/evidence/{evidence_id}/raw").status_code == 404
    assert browser.get(f"/unrecognised/{entry}").status_code == 404
    assert browser.get(f"/unrecognised/{unnamed}").status_code == 404
    assert "secret" not in browser.get("/unrecognised").text
    refused = browser.post(f"/unrecognised/{entry}/reprocess", {}, token_from="/suppressions")
    assert refused.status_code == 404
    with engine.connect() as conn:
        assert conn.execute(select(SPOOL.c.state).where(SPOOL.c.id == entry)).scalar() == "unrecognised"
    # Acting on their address from this tenant changes only this tenant's ledger.
    lifted = browser.post("/contacts/victim@example.net/lift-with-consent",
                          {"confirmed_by": "Ann", "method": "email", "evidence": "yes"},
                          token_from="/contacts/victim@example.net")
    assert lifted.status_code == 404
    assert theirs.check(["victim@example.net"])[0].verdict == "suppressed"
    # An operator of the other tenant with the same name is a different account.
    accounts.create_operator(engine, other, "alice", "their own password")
    assert browser.get("/suppressions").text.count("victim@example.net") == 0


def test_repeated_failures_hold_up_that_account_only(browser_for: MakeBrowser, engine: Engine,
                                                     tenant: str, operator: str) -> None:
    accounts.create_operator(engine, tenant, "bob", PASSWORD)
    browser = browser_for(tenant)
    for _ in range(5):
        assert browser.sign_in(operator, "a wrong guess").status_code == 401
    held = browser.sign_in(operator)
    assert held.status_code == 429 and "Too many failed sign-ins" in held.text
    assert "pw_session" not in browser.client.cookies
    assert browser_for(tenant).sign_in("bob").status_code == 303


def test_the_throttle_forgets_failures_after_its_window() -> None:
    now = [1000.0]
    throttle = accounts.SignInThrottle(limit=3, window=60, clock=lambda: now[0])
    for _ in range(3):
        assert throttle.wait("t", "a") == 0
        throttle.failed("t", "a")
        now[0] += 10
    assert throttle.wait("t", "a") == 30  # the first failure leaves the window in 30 s
    assert throttle.wait("t", "b") == 0
    now[0] += 30
    assert throttle.wait("t", "a") == 0
    throttle.failed("t", "a")
    throttle.succeeded("t", "a")
    assert throttle.wait("t", "a") == 0
