"""Scoring parser output against a labelled corpus (the ``expected.json`` of the
bounce corpus). Used by the benchmark and the table-driven tests; no I/O here
beyond what the caller passes in."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from postwarden.classify.status import is_private
from postwarden.parse.model import DeliveryStatus

# Sisimai writes this address when a complaint names no recipient; it is a
# placeholder, not a recipient, so it is compared as "unknown".
PLACEHOLDER_DOMAIN = "@libsisimai.org.invalid"


@dataclass(frozen=True)
class Verdict:
    exact: bool
    hard_right: int
    hard_total: int
    problems: tuple[str, ...]


def record_matches(want: Mapping[str, Any], got: DeliveryStatus) -> bool:
    rcpt = (want.get("recipient") or "").lower()
    if rcpt and not rcpt.endswith(PLACEHOLDER_DOMAIN) and (got.recipient or "").lower() != rcpt:
        return False
    if want.get("reason") != got.reason:
        return False
    if bool(want.get("hardbounce")) != got.hard_bounce:
        return False
    if want.get("replycode") and want["replycode"] != (got.reply_code or ""):
        return False
    return status_matches(want.get("status") or "", got.status or "")


def status_matches(want: str, got: str) -> bool:
    if is_private(want):
        return got[:1] == want[:1]
    return want == got


def compare(expected: Sequence[Mapping[str, Any]], got: Sequence[DeliveryStatus]) -> Verdict:
    """Same multiset of records? And how many expected records got the right
    hard_bounce (paired by recipient, else by position)."""
    remaining = list(got)
    problems: list[str] = []
    for want in expected:
        for i, candidate in enumerate(remaining):
            if record_matches(want, candidate):
                del remaining[i]
                break
        else:
            problems.append(f"missing {_show(want)}")
    for extra in remaining:
        problems.append(
            f"unexpected {extra.recipient} {extra.status} {extra.reply_code} {extra.reason} "
            f"hard={extra.hard_bounce}"
        )
    hard_right = 0
    for pos, want in enumerate(expected):
        rcpt = (want.get("recipient") or "").lower()
        pair = next((g for g in got if rcpt and (g.recipient or "").lower() == rcpt), None)
        if pair is None and pos < len(got):
            pair = got[pos]
        if pair is not None and pair.hard_bounce == bool(want.get("hardbounce")):
            hard_right += 1
    return Verdict(not problems, hard_right, len(expected), tuple(problems))


def _show(want: Mapping[str, Any]) -> str:
    return (
        f"{want.get('recipient')} {want.get('status') or '-'} {want.get('replycode') or '-'} "
        f"{want.get('reason')} hard={want.get('hardbounce')}"
    )
