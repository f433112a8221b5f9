"""The pages over HTTP against a real server, on SQLite and PostgreSQL: the list's
filters and its CSV, the card's actions and their refusals, evidence, errors."""

from __future__ import annotations

import csv
import io
import os
import re
import subprocess
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Engine, update

from postwarden.ledger import Ledger
from postwarden.ledger.models import AUDIT
from postwarden.ledger.service import ImportRow, SuppressionFilter, utcnow
from tests.servers import POSTWARDEN
from tests.web.conftest import Browser
from tests.web.seed import ARF, COMPLAINER, UNSUBSCRIBED, seed

ROW = re.compile(r'<tr>\s*<td><a href="/contacts/([^"]+)">')


def listed(page: str) -> list[str]:
    return ROW.findall(page)


def exported(browser: Browser, **params: str) -> list[dict[str, str]]:
    response = browser.get("/suppressions/export.csv", **params)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith("attachment;")
    return list(csv.DictReader(io.StringIO(response.text)))


def test_filters_counts_and_the_csv_of_the_filtered_view(browser: Browser, engine: Engine,
                                                         tenant: str) -> None:
    seed(engine, tenant)
    ledger = Ledger(engine, tenant)
    cases = [
        ({"reason_class": "hard_bounce"}, SuppressionFilter(reason_classes=["hard_bounce"])),
        ({"bounce_reason": "hostunknown"}, SuppressionFilter(bounce_reason="hostunknown")),
        ({"scope": "newsletter"}, SuppressionFilter(scope="newsletter")),
        ({"match": "*@corp.example", "reason_class": "unsubscribe"},
         SuppressionFilter(match="*@corp.example", reason_classes=["unsubscribe"])),
        ({"match": "MAIL.example"}, SuppressionFilter(match="mail.example")),
        ({"since": "2000-01-01", "until": utcnow().strftime("%Y-%m-%d")}, SuppressionFilter()),
        ({"until": "2000-01-01"}, SuppressionFilter(until=datetime(2000, 1, 2))),
    ]
    for params, flt in cases:
        expected = sorted(r.address for r in ledger.find(flt, limit=1000))
        page = browser.get("/suppressions", **params)
        assert page.status_code == 200
        assert sorted(listed(page.text)) == expected, params
        assert sorted(r["address"] for r in exported(browser, **params)) == expected, params
        if not expected:
            assert "Nothing matches this filter" in page.text
    counts = ledger.count_by_class()
    page = browser.get("/suppressions").text
    for cls, label in (("hard_bounce", "Hard bounce"), ("unsubscribe", "Unsubscribed")):
        assert re.search(rf'{label} <span class="count">{counts[cls]}</span>', page)
    bad = browser.get("/suppressions", since="31/01/2026")
    assert bad.status_code == 200 and "is not a date like 2026-01-31" in bad.text
    assert browser.get("/suppressions/export.csv", since="yesterday").status_code == 422


def test_the_list_is_paginated(browser: Browser, engine: Engine, tenant: str) -> None:
    ledger = Ledger(engine, tenant)
    ledger.import_rows([ImportRow(n, f"user{n:03d}@example.com", "unsubscribe") for n in range(1, 131)],
                       source="test", actor="test")
    first = browser.get("/suppressions")
    assert len(listed(first.text)) == 100 and "Showing 1–100 of 130" in first.text
    following = re.search(r'href="/suppressions\?([^"]+)" rel="next"', first.text)
    assert following
    second = browser.client.get("/suppressions?" + following.group(1).replace("&amp;", "&"))
    assert len(listed(second.text)) == 30 and "Showing 101–130 of 130" in second.text
    assert set(listed(first.text)).isdisjoint(listed(second.text))
    assert 'rel="next"' not in second.text
    assert len(exported(browser)) == 130  # the export is the whole view, not one page


def test_consent_lift_is_refused_without_consent_and_recorded_either_way(
        browser: Browser, engine: Engine, tenant: str) -> None:
    seed(engine, tenant)
    ledger = Ledger(engine, tenant)
    card = f"/contacts/{COMPLAINER}"
    partial = {"confirmed_by": "Ann", "method": "", "ticket": "HD-1", "evidence": "  ", "scope": "*"}
    refused = browser.post(f"{card}/lift-with-consent", partial, token_from=card)
    assert refused.status_code == 409
    assert "Not lifted" in refused.text and "Choose how the recipient confirmed." in refused.text
    assert "Paste or describe the recipient&#39;s confirmation." in refused.text
    assert 'value="Ann"' in refused.text and 'value="HD-1"' in refused.text
    assert ledger.check([COMPLAINER])[0].reason_class == "complaint"
    assert ledger.audit_for(COMPLAINER)[-1].action == "lift_refused"

    full = {**partial, "method": "phone", "evidence": "She asked on the phone to get the newsletter again."}
    lifted = browser.post(f"{card}/lift-with-consent", full, token_from=card)
    assert lifted.status_code == 303 and lifted.headers["location"] == card
    assert ledger.check([COMPLAINER])[0].verdict == "allowed"
    entry = ledger.audit_for(COMPLAINER)[-1]
    assert (entry.action, entry.actor) == ("lifted", "web:alice")
    assert '"consent_method":"phone"' in entry.evidence.replace(" ", "")
    shown = browser.get(card).text
    assert "Lifted with the recipient&#39;s consent" in shown  # the result, once
    assert "Lifted with the recipient&#39;s consent" not in browser.get(card).text


def test_the_card_offers_only_what_the_policy_allows(browser: Browser, engine: Engine, tenant: str) -> None:
    seed(engine, tenant)
    unsubscribed = browser.get(f"/contacts/{UNSUBSCRIBED}").text
    assert "Only they can change that" in unsubscribed
    assert "lift-with-consent" not in unsubscribed and "check-again" not in unsubscribed
    assert "newsletter:</span> Unsubscribed" in unsubscribed
    refused = browser.post(f"/contacts/{UNSUBSCRIBED}/lift", {"note": "asked on the phone"},
                           token_from="/suppressions")
    assert refused.status_code == 409 and "re-subscription" in refused.text
    assert Ledger(engine, tenant).check([UNSUBSCRIBED], "newsletter")[0].verdict == "suppressed"

    soft = browser.get("/contacts/full.box@example.com").text
    assert 'action="/contacts/full.box@example.com/lift"' in soft and "check-again" not in soft
    no_note = browser.post("/contacts/full.box@example.com/lift", {"note": ""}, token_from="/suppressions")
    assert no_note.status_code == 422 and "Say why you lift" in no_note.text
    lifted = browser.post("/contacts/full.box@example.com/lift", {"note": "mailbox emptied", "scope": "*"},
                          token_from="/suppressions")
    assert lifted.status_code == 303
    assert Ledger(engine, tenant).check(["full.box@example.com"])[0].verdict == "allowed"


def test_manual_suppression_evidence_and_errors_are_pages(browser: Browser, engine: Engine,
                                                          tenant: str) -> None:
    seed(engine, tenant)
    ledger = Ledger(engine, tenant)
    done = browser.post("/contacts/Someone@Example.COM/suppress", {"note": "legal hold", "scope": "billing"},
                        token_from="/suppressions")
    assert done.status_code == 303 and done.headers["location"] == "/contacts/someone@example.com"
    assert ledger.check(["someone@example.com"], "billing")[0].reason_class == "manual"
    assert ledger.check(["someone@example.com"])[0].verdict == "allowed"
    result = browser.get(done.headers["location"]).text
    assert "no mail on &#39;billing&#39; goes to someone@example.com" in result

    evidence_id = ledger.events_for(COMPLAINER)[0].evidence_id
    card = browser.get(f"/contacts/{COMPLAINER}").text
    assert f'href="/evidence/{evidence_id}"' in card
    page = browser.get(f"/evidence/{evidence_id}")
    assert page.status_code == 200 and "Feedback-Type: abuse" in page.text
    raw = browser.get(f"/evidence/{evidence_id}/raw")
    assert raw.content == ARF and raw.headers["content-type"].startswith("text/plain")

    for path, status, words in (("/contacts/not-an-address", 422, "not"),
                                ("/evidence/999999999", 404, "no evidence"),
                                ("/evidence/abc", 400, "not one this interface knows")):
        response = browser.get(path)
        assert response.status_code == status, path
        assert response.headers["content-type"].startswith("text/html")
        assert words in response.text.lower() or words in response.text
    slashed = browser.post("/contacts/a/b@example.com/suppress", {"note": "odd but valid"},
                           token_from="/suppressions")
    assert slashed.headers["location"] == "/contacts/a%2Fb@example.com"
    assert browser.get(slashed.headers["location"]).status_code == 200
    assert ledger.check(["a/b@example.com"])[0].reason_class == "manual"
    assert browser.get("/contacts", address="*@corp.example").headers["location"].startswith(
        "/suppressions?match=")


def test_operators_are_created_on_the_command_line(browser_for: Callable[[str], Browser], db_url: str,
                                                  tenant: str) -> None:
    env = {**os.environ}
    env.pop("POSTWARDEN_OPERATOR_PASSWORD", None)
    command = [POSTWARDEN, "--database", db_url, "--tenant", tenant, "operator"]
    short = subprocess.run([*command, "create", "bob"], input="short\nshort\n", env=env,
                           capture_output=True, text=True)
    assert short.returncode == 1 and "at least 10 characters" in short.stderr
    made = subprocess.run([*command, "create", "bob"], input="a good long password\n" * 2, env=env,
                          capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    again = subprocess.run([*command, "create", "bob"], input="a good long password\n" * 2, env=env,
                           capture_output=True, text=True)
    assert again.returncode == 1 and "already" in again.stderr
    listing = subprocess.run([*command, "list"], env=env, capture_output=True, text=True)
    assert "bob" in listing.stdout and "never" in listing.stdout
    browser = browser_for(tenant)
    assert browser.sign_in("bob", "a good long password").status_code == 303


def test_the_audit_log_is_searchable_and_shows_a_broken_chain(browser: Browser, engine: Engine,
                                                               tenant: str) -> None:
    seed(engine, tenant)
    ledger = Ledger(engine, tenant)
    page = browser.get("/audit")
    assert "Chain verified" in page.text and f"{ledger.change_sequence()} entries intact" in page.text
    found = browser.get("/audit", q="LEG-19").text
    assert "legal-hold@example.com" in found and COMPLAINER not in found
    history = browser.get("/audit", address=COMPLAINER.upper()).text
    assert COMPLAINER in history and "legal-hold@example.com" not in history

    with engine.begin() as conn:
        conn.execute(update(AUDIT).where(AUDIT.c.tenant_id == ledger.tenant_id, AUDIT.c.seq == 2)
                     .values(note="rewritten afterwards"))
    # The chain has not grown, so the page would show the earlier result; a new entry
    # makes it walk the chain again.
    ledger.suppress("another@example.com", "manual", note="x", actor="test")
    broken = browser.get("/audit").text
    assert "Chain broken at entry 2" in broken and "Chain verified" not in broken


def test_the_style_sheet_and_script_are_served_under_their_digest(browser_for: Callable[[str], Browser],
                                                                   tenant: str) -> None:
    anonymous = browser_for(tenant)
    page = anonymous.get("/sign-in").text
    for name, media in (("web.css", "text/css"), ("web.js", "text/javascript")):
        found = re.search(rf'"(/static/{re.escape(name)}\?v=[0-9a-f]{{12}})"', page)
        assert found, name
        served = anonymous.client.get(found.group(1))
        assert served.status_code == 200 and served.headers["content-type"].startswith(media)
    assert anonymous.get("/static/secrets.txt").status_code == 404
