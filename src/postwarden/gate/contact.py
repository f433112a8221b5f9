"""The contact card: everything about one address that support staff open first —
may we send, and if not why and how it can be lifted; every piece of feedback with a
link to its raw evidence; every message sent and the status its feedback reached; the
audit trail."""

from __future__ import annotations

from typing import Any

from postwarden.address import normalize
from postwarden.ledger import Ledger
from postwarden.ledger.export import iso, record


def contact_card(ledger: Ledger, address: str, scopes: list[str] | None = None) -> dict[str, Any]:
    address = normalize(address)
    suppressions = ledger.suppressions_for(address)
    asked = ["*", *sorted({s.scope for s in suppressions if s.scope != "*"} | set(scopes or []))]
    verdicts = {scope: ledger.check([address], scope)[0] for scope in asked}
    return {
        "address": address,
        "status": {scope: {"verdict": v.verdict, "reason_class": v.reason_class, "reason": v.reason,
                           "scope": v.scope, "since": iso(v.since), "expires_at": iso(v.expires_at),
                           "lift": v.lift, "lift_explanation": v.lift_explanation}
                   for scope, v in verdicts.items()},
        "suppressions": [record(s) for s in suppressions],
        "events": [{
            "at": iso(e.occurred_at), "kind": e.kind, "reason": e.reason, "reason_class": e.reason_class,
            "effect": e.disposition, "status": e.status, "reply_code": e.reply_code,
            "diagnostic": e.diagnostic, "remote_mta": e.remote_mta, "message_id": e.message_id,
            "feedback_type": e.feedback_type, "source": e.source,
            "evidence": f"/v1/evidence/{e.evidence_id}" if e.evidence_id else None,
        } for e in ledger.events_for(address)],
        "audit": [{"seq": a.seq, "at": iso(a.at), "actor": a.actor, "action": a.action, "scope": a.scope,
                   "reason_class": a.reason_class, "note": a.note} for a in ledger.audit_for(address)],
        "messages": [{
            "message_id": m.message_id, "sent_at": iso(m.sent_at), "sender": m.sender, "subject": m.subject,
            "stream": m.stream, "scope": m.scope, "status": m.status, "status_at": iso(m.status_at),
            "status_code": m.status_code, "status_detail": m.status_detail,
        } for m in ledger.messages_for(address)],
    }
