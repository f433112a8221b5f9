"""Amazon SES notifications delivered by e-mail (an SNS topic subscription):
the body is JSON with ``notificationType`` Bounce, Complaint or Delivery."""

from __future__ import annotations

import json
from typing import Any

from postwarden.parse.decoder import Decoded, Finding
from postwarden.parse.message import Message
from postwarden.parse.model import ComplaintReport

NAME = "amazonses"
PRIORITY = 200


def decode(msg: Message) -> Decoded | None:
    body = msg.body
    start = body.find("{")
    if start < 0 or ("notificationType" not in body[:20000] and '"eventType"' not in body[:20000]):
        return None
    data = _json(body[start:])
    if data is None:
        return None
    if isinstance(data.get("Message"), str):  # the SNS envelope around the SES notice
        inner = _json(data["Message"])
        if inner is not None:
            data = inner
    kind = str(data.get("notificationType") or data.get("eventType") or "")
    found = data.get("mail")
    mail: dict[str, Any] = found if isinstance(found, dict) else {}
    if kind == "Bounce":
        return _bounce(data.get("bounce") or {}, mail)
    if kind == "Complaint":
        return _complaint(data.get("complaint") or {}, mail)
    if kind == "Delivery":
        return _delivery(data.get("delivery") or {}, mail)
    return None


def _json(text: str) -> dict[str, Any] | None:
    end = text.rfind("}")
    if end < 0:
        return None
    chunk = text[: end + 1]
    for candidate in (chunk, chunk.replace("\n ", "").replace("\n", "")):
        try:
            value = json.loads(candidate)
        except ValueError:
            continue
        return value if isinstance(value, dict) else None
    return None


def _bounce(bounce: dict[str, Any], mail: dict[str, Any]) -> Decoded:
    permanent = str(bounce.get("bounceType", "")) == "Permanent"
    out = []
    for r in bounce.get("bouncedRecipients") or []:
        if not isinstance(r, dict):
            continue
        out.append(Finding(
            recipient=r.get("emailAddress"),
            action=r.get("action") or ("failed" if permanent else "delayed"),
            status=r.get("status"),
            diagnostic=r.get("diagnosticCode"),
            reporting_mta=bounce.get("reportingMTA"),
            last_attempt_date=bounce.get("timestamp"),
        ))
    return Decoded(out)


def _complaint(complaint: dict[str, Any], mail: dict[str, Any]) -> Decoded:
    feedback = str(complaint.get("complaintFeedbackType") or "abuse")
    report = ComplaintReport(
        feedback_type=feedback,
        user_agent=complaint.get("userAgent"),
        source_ip=mail.get("sourceIp"),
        original_mail_from=mail.get("source"),
        arrival_date=complaint.get("arrivalDate") or complaint.get("timestamp"),
    )
    out = [
        Finding(recipient=r.get("emailAddress"), reason="feedback", feedback_type=feedback)
        for r in complaint.get("complainedRecipients") or []
        if isinstance(r, dict)
    ]
    return Decoded(out, complaint=report, kind="complaint")


def _delivery(delivery: dict[str, Any], mail: dict[str, Any]) -> Decoded:
    reply = str(delivery.get("smtpResponse") or "")
    out = [
        Finding(recipient=r, action="delivered", diagnostic=reply,
                remote_mta=delivery.get("remoteMtaIp"), reporting_mta=delivery.get("reportingMTA"))
        for r in delivery.get("recipients") or []
        if isinstance(r, str)
    ]
    return Decoded(out, kind="delivered")
