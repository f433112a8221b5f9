"""The web interface's Reports page over HTTP, signed in as an operator."""

from __future__ import annotations

from datetime import timedelta

from postwarden.ledger import Feedback, Ledger
from postwarden.ledger.messages import SentMessage
from postwarden.ledger.service import utcnow
from postwarden.reports.service import Reports
from tests.web.conftest import Browser, base_url, browser, browser_for, operator

__all__ = ["base_url", "browser", "browser_for", "operator"]   # fixtures used from tests/web


def test_reports_page_shows_the_chart_table_and_steps(browser: Browser, ledger: Ledger) -> None:
    at = utcnow() - timedelta(days=2)
    ledger.record_messages([SentMessage(f"<w{n}@x>", f"w{n}@outlook.com", "s@news.example.org", "s",
                                        sent_at=at) for n in range(40)])
    ledger.apply_many([Feedback(address=f"w{n}@outlook.com", kind="bounce", source="t", reason="userunknown",
                                hard_bounce=True, occurred_at=at) for n in range(4)])
    Reports.of(ledger).add_step("Removed the purchased-list segment", actor="test", at=at,
                                provider="microsoft")
    page = browser.get("/reports", provider="microsoft", days="30")
    assert page.status_code == 200
    text = page.text
    assert "<svg" in text and "Microsoft (Outlook.com, Microsoft 365): daily volume and rates" in text
    assert "Removed the purchased-list segment" in text
    assert "10.00%" in text   # the bounce rate, over the critical line
    assert browser.get("/reports", provider="nosuch").status_code == 200   # falls back to all providers
