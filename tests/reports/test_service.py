"""The Reports service: time spans, provider names, the remediation log."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from postwarden.errors import InvalidInput
from postwarden.ledger import Ledger
from postwarden.reports.service import Reports, check_provider, parse_since

NOW = datetime(2026, 1, 5, 12)


@pytest.mark.parametrize(("text", "expected"), [
    ("30d", NOW - timedelta(days=30)), ("2w", NOW - timedelta(weeks=2)), ("48h", NOW - timedelta(hours=48)),
    ("2025-12-01", datetime(2025, 12, 1)), ("2025-12-01T10:00:00+02:00", datetime(2025, 12, 1, 8)),
])
def test_parse_since(text: str, expected: datetime) -> None:
    assert parse_since(text, NOW) == expected


def test_bad_spans_and_providers_are_refused() -> None:
    with pytest.raises(InvalidInput, match="30d, 12w"):
        parse_since("a month", NOW)
    with pytest.raises(InvalidInput, match="unknown provider 'hotmail'"):
        check_provider("hotmail")
    assert check_provider("other") == "other" and check_provider(None) is None


def test_remediation_log(ledger: Ledger) -> None:
    reports = Reports.of(ledger)
    first = reports.add_step("Removed the purchased-list segment", actor="ops", provider="microsoft",
                             at=NOW - timedelta(days=3))
    reports.add_step("Turned on one-click unsubscribe", actor="ops", at=NOW - timedelta(days=1))
    reports.add_step("Warmed up the new IP at Google", actor="ops", provider="google", at=NOW)
    for text, provider in (("   ", None), ("x" * 2001, None), ("fine", "nosuch")):
        with pytest.raises(InvalidInput):
            reports.add_step(text, actor="ops", provider=provider)
    microsoft = reports.steps(provider="microsoft")
    assert [s.text for s in microsoft] == ["Removed the purchased-list segment",
                                           "Turned on one-click unsubscribe"]
    assert microsoft[0].id == first
    recent = reports.steps(since=NOW - timedelta(hours=1))
    assert [s.text for s in recent] == ["Warmed up the new IP at Google"]
