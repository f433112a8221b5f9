"""Complaint reports: ARF (RFC 5965) and the older non-standard forms
(Microsoft JMRP with ``X-HmXmrOriginalRecipient``, mail-client "unsubscribe"
requests sent to a List-Unsubscribe address)."""

from __future__ import annotations

from postwarden.parse.decoder import Decoded, Finding
from postwarden.parse.dsn import parse_fields
from postwarden.parse.message import Message, first_address
from postwarden.parse.model import ComplaintReport

NAME = "arf"
PRIORITY = 100


def decode(msg: Message) -> Decoded | None:
    if msg.feedback is not None:
        return _arf(msg, msg.feedback)
    original = msg.original
    if original is not None and "x-hmxmroriginalrecipient" in original:
        rcpt = first_address(original.get("x-hmxmroriginalrecipient"))
        report = ComplaintReport(feedback_type="abuse", source_ip=original.get("x-reporter-ip") or None)
        return Decoded(
            [Finding(recipient=rcpt, reason="feedback", feedback_type="abuse")],
            complaint=report,
        )
    if msg.subject.strip().lower() == "unsubscribe" and "unsubscribe" in msg.body_lower[:2000]:
        # A mail client's one-click "unsubscribe": sent from the recipient to the
        # List-Unsubscribe mailto address.
        rcpt = first_address(msg.from_)
        if rcpt:
            return Decoded(
                [Finding(recipient=rcpt, reason="feedback", feedback_type="opt-out")],
                complaint=ComplaintReport(feedback_type="opt-out", user_agent=None),
            )
    return None


def _arf(msg: Message, text: str) -> Decoded:
    fields: dict[str, list[str]] = {}
    for group in parse_fields(text):
        for name, value in group:
            fields.setdefault(name, []).append(value)

    def one(name: str) -> str | None:
        values = fields.get(name)
        return values[0].strip() if values else None

    feedback_type = (one("feedback-type") or "abuse").lower()
    rcpts = [a for a in (first_address(v) for v in fields.get("original-rcpt-to", [])) if a]
    if not rcpts:
        rcpts = [a for a in (first_address(v) for v in fields.get("removal-recipient", [])) if a]
    if not rcpts and msg.original is not None:
        to = msg.original.get("to")
        found = first_address(to) if to else None
        if found:
            rcpts = [found]
    report = ComplaintReport(
        feedback_type=feedback_type,
        user_agent=one("user-agent"),
        source_ip=one("source-ip"),
        reported_domain=one("reported-domain"),
        original_mail_from=first_address(one("original-mail-from") or "") or one("original-mail-from"),
        original_rcpt_to=rcpts[0] if rcpts else None,
        arrival_date=one("arrival-date") or one("received-date"),
    )
    findings = [
        Finding(recipient=r, reason="feedback", feedback_type=feedback_type,
                arrival_date=report.arrival_date)
        for r in (rcpts or [None])  # type: ignore[list-item]
    ]
    return Decoded(findings, complaint=report, kind="complaint")
