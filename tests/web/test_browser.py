"""End to end in headless Chromium (Debian's, driven by Playwright) against a real
`postwarden serve` on loopback: the flows of the support articles, page by page.

A screenshot of every page is kept under POSTWARDEN_TEST_ARTEFACTS (default
tmp/artefacts/web in the repository). If Chromium cannot start, the test fails and
says so: it is never skipped."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from sqlalchemy import Engine

from postwarden.ledger import Ledger
from postwarden.ledger.service import SuppressionFilter
from tests.dnsserver import dns_server
from tests.servers import POSTWARDEN, Server, start
from tests.web.seed import COMPLAINER, TYPO, seed

CHROMIUM = os.environ.get("POSTWARDEN_CHROMIUM", "/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
ARTEFACTS = Path(os.environ.get("POSTWARDEN_TEST_ARTEFACTS", ROOT / "tmp" / "artefacts" / "web"))
PASSWORD = "a long operator password"
# A hard-bounced address whose domain takes mail again: "Check again" lifts it.
REPAIRED = "customer01@mail.example.net"


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        except Exception as exc:
            raise RuntimeError(f"Chromium could not start from {CHROMIUM} ({exc}). Install Debian's "
                               "chromium (`apt-get install chromium`) or set POSTWARDEN_CHROMIUM.") from exc
        yield browser
        browser.close()


@pytest.fixture
def server(engine: Engine, db_url: str, tenant: str, tmp_path: Path) -> Iterator[Server]:
    seed(engine, tenant)
    created = subprocess.run(
        [POSTWARDEN, "--database", db_url, "--tenant", tenant, "operator", "create", "alice"],
        env={**os.environ, "POSTWARDEN_OPERATOR_PASSWORD": PASSWORD}, capture_output=True, text=True)
    assert created.returncode == 0, created.stderr
    with dns_server([("mail.example.net", "MX", "10 mx.mail.example.net."),
                     ("mx.mail.example.net", "A", "192.0.2.25")]) as (_, nameserver):
        running = start(db_url, tmp_path / "serve.log", tenant=tenant,
                        extra_env={"POSTWARDEN_DNS_SERVERS": f'["{nameserver}"]'})
        try:
            yield running
        finally:
            running.stop()


class Shots:
    """Screenshots named by step, for people to look at after the run."""

    def __init__(self, page: Page, backend: str) -> None:
        self.page, self.folder = page, ARTEFACTS / backend
        self.folder.mkdir(parents=True, exist_ok=True)

    def take(self, name: str) -> None:
        self.page.screenshot(path=str(self.folder / f"{name}.png"), full_page=True)
        assert_accessible_basics(self.page)


def assert_accessible_basics(page: Page) -> None:
    """Every form field has a label, every button a name, and the page one h1."""
    unlabelled = page.evaluate("""() => [...document.querySelectorAll(
            'input:not([type=hidden]), select, textarea')]
        .filter(f => !(f.labels && f.labels.length) && !f.getAttribute('aria-label'))
        .map(f => f.outerHTML)""")
    assert unlabelled == [], unlabelled
    nameless = page.evaluate("""() => [...document.querySelectorAll('button, a[href]')]
        .filter(b => !b.textContent.trim() && !b.getAttribute('aria-label')).map(b => b.outerHTML)""")
    assert nameless == [], nameless
    expect(page.locator("h1")).to_have_count(1)


def test_support_desk_flows(chromium: Browser, server: Server, engine: Engine, tenant: str,
                            db_url: str) -> None:
    ledger = Ledger(engine, tenant)
    context = chromium.new_context(base_url=server.http, viewport={"width": 1360, "height": 900},
                                   accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    shots = Shots(page, db_url.partition(":")[0])

    # Signing in: the first page asks for it, then returns where the operator was going.
    page.goto("/suppressions")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    shots.take("01-sign-in")
    page.get_by_label("Account").fill(tenant)
    page.get_by_label("Operator name").fill("alice")
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("do not match an operator")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Suppressions")).to_be_visible()
    shots.take("02-suppressions")

    # Finding an address from the header and reading its timeline.
    page.get_by_label("Find an address").fill(COMPLAINER.upper())
    page.get_by_label("Find an address").press("Enter")
    expect(page.get_by_role("heading", name=COMPLAINER)).to_be_visible()
    messages = page.locator("section", has=page.get_by_role("heading", name="Messages"))
    expect(messages.locator(".tl-item")).to_have_count(3)
    expect(messages.locator(".tl-item", has_text="Spring sale: 20% off")).to_contain_text("Complained")
    expect(messages.locator(".tl-item", has_text="Welcome to Example Shop")).to_contain_text("Delivered")
    badge = page.locator(".badges .badge").first
    expect(badge).to_have_text("Spam complaint")
    badge.focus()  # the tooltip opens for the keyboard as for the mouse
    expect(page.get_by_role("tooltip")).to_contain_text("reported a message as spam")
    expect(page.get_by_role("tooltip")).to_contain_text("Since 2026-")
    shots.take("03-contact-complaint")
    page.keyboard.press("Escape")
    expect(page.get_by_role("tooltip")).to_be_hidden()

    page.get_by_role("link", name="View raw").first.click()
    expect(page.get_by_role("heading", name="Raw evidence")).to_be_visible()
    expect(page.locator("pre.raw")).to_contain_text("Feedback-Type: abuse")
    shots.take("04-raw-evidence")
    page.go_back()

    # Lifting a complaint without the recipient's consent is refused, and nothing changes.
    audit_before = len(ledger.audit_for(COMPLAINER))
    page.get_by_label("Help-desk ticket").fill("HD-4821")
    page.get_by_role("button", name="Lift the complaint").click()
    refusal = page.locator("#consent-problem")
    expect(refusal).to_contain_text("Not lifted")
    expect(refusal).to_contain_text("Say who confirmed with the recipient.")
    expect(refusal).to_contain_text("Choose how the recipient confirmed.")
    expect(page.get_by_label("Who confirmed with the recipient")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Help-desk ticket")).to_have_value("HD-4821")  # what was typed stays
    expect(page.locator(".badges .badge").first).to_have_text("Spam complaint")
    shots.take("05-lift-refused")
    assert ledger.check([COMPLAINER])[0].reason_class == "complaint"
    trail = ledger.audit_for(COMPLAINER)
    assert len(trail) == audit_before + 1 and trail[-1].action == "lift_refused"

    # With the consent recorded, it is lifted and the audit shows who confirmed it and how.
    page.get_by_label("Who confirmed with the recipient").fill("Ann Example (support)")
    page.get_by_label("How they confirmed").select_option("email")
    page.get_by_label("The recipient's confirmation").fill("Yes, please keep sending me the newsletter.")
    page.get_by_role("button", name="Lift the complaint").click()
    expect(page.get_by_role("status")).to_contain_text("Lifted with the recipient's consent")
    expect(page.locator(".badges .badge").first).to_have_text("Can receive mail")
    expect(page.locator(".audit-list li").first).to_contain_text("lifted")
    expect(page.locator(".audit-list li").first).to_contain_text("ticket HD-4821")
    shots.take("06-lifted-with-consent")
    assert ledger.check([COMPLAINER])[0].verdict == "allowed"

    page.get_by_role("link", name="Open in the audit log").click()
    lifted_row = page.locator("tbody tr", has_text="Lifted").first
    expect(lifted_row).to_contain_text("web:alice")
    lifted_row.locator("summary", has_text="Evidence").click()
    expect(lifted_row).to_contain_text("Ann Example (support)")
    expect(page.get_by_role("status").filter(has_text="Chain verified")).to_be_visible()
    shots.take("07-audit-log")

    # Check again: a typo stays blocked and the result says what it probably meant ...
    page.goto(f"/contacts/{TYPO}")
    expect(page.locator(".badges .badge").first).to_have_text("Hard bounce")
    page.get_by_role("button", name="Check again").click()
    expect(page.get_by_role("status")).to_contain_text("still blocked")
    expect(page.get_by_role("status")).to_contain_text("jon.baker@gmail.com")
    expect(page.locator(".badges .badge").first).to_have_text("Hard bounce")
    shots.take("08-check-again-typo")
    # ... and an address whose domain takes mail again is lifted.
    page.goto(f"/contacts/{REPAIRED}")
    page.get_by_role("button", name="Check again").click()
    expect(page.get_by_role("status")).to_contain_text("can receive mail, so the block is lifted")
    expect(page.locator(".badges .badge").first).to_have_text("Can receive mail")
    shots.take("09-check-again-lifted")
    assert ledger.check([REPAIRED])[0].verdict == "allowed"

    # An unsubscribe is explained, not offered for lifting.
    page.goto("/contacts/sam.lee@example.net")
    expect(page.locator("#unsubscribed")).to_contain_text("Only they can change that")
    expect(page.get_by_role("button", name="Lift the complaint")).to_have_count(0)
    expect(page.get_by_role("button", name="Check again")).to_have_count(0)

    # Filter the list and export it: the file holds exactly the rows of the filter.
    page.goto("/suppressions")
    page.get_by_role("link", name="Hard bounce").click()
    expect(page.locator(".chip-on")).to_contain_text("Hard bounce")
    page.get_by_label("Address", exact=True).fill("*.example*")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("tbody tr").first).to_be_visible()
    shown = sorted(page.locator("tbody tr td:first-child").all_inner_texts())
    shots.take("10-suppressions-filtered")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export this view as CSV").click()
    exported = list(csv.DictReader(io.StringIO(Path(download_info.value.path()).read_text())))
    expected = ledger.find(SuppressionFilter(reason_classes=["hard_bounce"], match="*.example*"), limit=1000)
    assert sorted(r["address"] for r in exported) == shown == sorted(r.address for r in expected)
    assert shown and {r["reason_class"] for r in exported} == {"hard_bounce"}
    assert REPAIRED not in shown  # lifted by the check above, so no longer in force

    # Unrecognised feedback: one arrives through the real SMTP intake, is read raw, re-processed.
    odd = EmailMessage()
    odd["From"], odd["To"], odd["Subject"] = "robot@odd-mta.example", "bounces@bounce.localhost", "hello"
    odd.set_content("Not a bounce, not a report: nobody can read this one.")
    with server.smtp() as smtp:
        smtp.send_message(odd)
    page.goto("/unrecognised")
    deadline = time.monotonic() + 20
    while page.locator("tbody tr", has_text="robot@odd-mta.example").count() == 0:
        assert time.monotonic() < deadline, "the SMTP intake never listed the message as unrecognised"
        time.sleep(0.3)
        page.reload()
    shots.take("11-unrecognised")
    page.locator("tbody tr", has_text="robot@odd-mta.example").get_by_role("link", name="View raw").click()
    expect(page.locator("pre.raw")).to_contain_text("nobody can read this one")
    shots.take("12-unrecognised-raw")
    page.get_by_role("button", name="Re-process").click()
    expect(page.get_by_role("status")).to_contain_text("queued to be read again")

    page.goto("/alerts")
    expect(page.locator(".conditions")).to_contain_text("192.0.2.7 is listed on zen.spamhaus.org")
    by_provider = page.locator("section", has=page.get_by_role("heading", name="By provider"))
    expect(by_provider.locator("tbody tr")).to_have_count(3)
    expect(by_provider.locator("tbody tr", has_text="Google")).to_contain_text("Google (Gmail, Workspace) 1")
    shots.take("13-alerts")

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.goto("/audit")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    context.close()


def test_core_flows_work_without_javascript(chromium: Browser, server: Server, engine: Engine,
                                            tenant: str) -> None:
    context = chromium.new_context(base_url=server.http, java_script_enabled=False)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto("/")
    page.get_by_label("Account").fill(tenant)
    page.get_by_label("Operator name").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    everything = len(Ledger(engine, tenant).find(SuppressionFilter(), limit=1000))
    page.get_by_label("Reason", exact=True).select_option("complaint")  # no script submits it ...
    expect(page.locator("tbody tr")).to_have_count(everything)
    page.get_by_role("button", name="Filter").click()  # ... the button does
    expect(page.locator("tbody tr")).to_have_count(1)
    page.get_by_role("link", name=COMPLAINER).click()
    page.get_by_label("Who confirmed with the recipient").fill("Ann Example (support)")
    page.get_by_label("How they confirmed").select_option("phone")
    page.get_by_label("The recipient's confirmation").fill("Asked on the phone to get the mail again.")
    page.get_by_role("button", name="Lift the complaint").click()
    expect(page.get_by_role("status")).to_contain_text("Lifted with the recipient's consent")
    assert Ledger(engine, tenant).check([COMPLAINER])[0].verdict == "allowed"
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    context.close()
