"""What the pages show, from ledger rows: pure functions, no server."""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace

from postwarden.ledger import policy
from postwarden.verify.result import Verification
from postwarden.web import views


def test_every_reason_class_has_a_label_a_tone_and_an_explanation() -> None:
    for cls in policy.REASON_CLASSES:
        assert views.CLASS_LABELS[cls] and views.CLASS_TONES[cls] and views.CLASS_WHY[cls]


def test_the_badge_says_why_and_since_when() -> None:
    badge = views.status_badge({"verdict": "suppressed", "reason_class": "hard_bounce",
                                "reason": "userunknown", "since": "2026-11-02T09:30:00Z", "expires_at": None})
    assert (badge.label, badge.tone) == ("Hard bounce", "red")
    assert "does not exist" in badge.tooltip and badge.tooltip.endswith("Since 2026-11-02 09:30 UTC.")
    assert views.status_badge({"verdict": "allowed"}).tone == "green"
    soft = views.status_badge({"verdict": "suppressed", "reason_class": "soft_bounce", "reason": None,
                               "since": "2026-11-02T09:30:00Z", "expires_at": "2026-12-02T09:30:00Z"})
    assert "Ends 2026-12-02 09:30 UTC." in soft.tooltip


def test_the_list_query_keeps_what_was_typed_and_reports_what_is_wrong() -> None:
    query = views.list_query({"reason_class": "complaint", "since": "2026-01-31", "until": "2026-02-01",
                              "match": " Pat ", "state": "bogus", "after": "42", "page": "2"})
    flt = query.filter()
    assert flt.reason_classes == ["complaint"] and flt.match == "pat" and flt.state == "active"
    assert (flt.since, flt.until) == (datetime(2026, 1, 31), datetime(2026, 2, 2))
    assert (query.after, query.page, query.problems) == (42, 2, [])
    assert query.params(page=3) == "reason_class=complaint&since=2026-01-31&until=2026-02-01&match=Pat&page=3"
    bad = views.list_query({"reason_class": "whim", "since": "soon"})
    bad.filter()
    assert len(bad.problems) == 2 and bad.reason_class == ""


def test_alerts_are_grouped_by_provider_and_kind() -> None:
    def alert(reason: str | None, mta: str | None, address: str, day: int,
              feedback_type: str | None = None) -> SimpleNamespace:
        return SimpleNamespace(reason=reason, remote_mta=mta, address=address, feedback_type=feedback_type,
                               occurred_at=datetime(2026, 11, day))

    grouped = views.alerts_by_provider([
        alert("blocked", "gmail-smtp-in.l.google.com", "a@example.com", 1),
        alert("badreputation", None, "b@gmail.com", 3),
        alert(None, None, "c@hotmail.com", 2, "dmarc"),
        alert("speeding", "mx.unknown.example", "d@unknown.example", 2),
    ])
    google = grouped[0]
    assert (google.provider, google.total) == ("Google (Gmail, Workspace)", 2)
    assert google.counts == {"Blocks": 1, "Reputation": 1} and google.latest == datetime(2026, 11, 3)
    by_name = {g.provider: g for g in grouped}
    assert by_name["Microsoft (Outlook.com, Microsoft 365)"].counts == {"Authentication": 1}
    assert by_name["mx.unknown.example"].counts == {"Rate limits": 1}


def test_the_result_of_check_again_in_words() -> None:
    failed = Verification("jon@gmial.com", "risky", ("typo",),
                          why="probably a typo: did you mean jon@gmail.com?", suggestion="jon@gmail.com")
    assert views.recheck_message(False, failed).startswith("Checked again: still blocked. Probably a typo")
    assert "meant jon@gmail.com" in views.recheck_message(False, failed)
    assert "block is lifted" in views.recheck_message(True, Verification("a@example.com", "deliverable"))
