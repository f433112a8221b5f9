"""What a piece of feedback does to the ledger: pure decisions from data.

The tables below are the field's vocabulary (see the corpus README); the per-class
rules (thresholds, windows, expiry, what lifts) come from the ``policy`` setting."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from postwarden.ledger.feedback import Feedback

REASON_CLASSES = ("complaint", "hard_bounce", "soft_bounce", "unsubscribe", "invalid", "manual")

# Strongest first: when an address is held by several classes, this one is reported.
PRECEDENCE = ("complaint", "unsubscribe", "hard_bounce", "invalid", "manual", "soft_bounce")

# Reasons that say the address itself is bad, when the failure is permanent (5xx).
HARD_REASONS = frozenset({"userunknown", "hostunknown", "hasmoved", "notaccept"})

# Reasons that say the *sender* is the problem: never a reason to suppress the recipient.
SENDER_SIDE_REASONS = frozenset({
    "blocked", "badreputation", "authfailure", "requireptr", "spamdetected",
    "policyviolation", "speeding", "toomanyconn", "ratelimited", "norelaying", "rejected",
    "failedstarttls", "securityerror", "virusdetected", "notcompliantrfc", "syntaxerror",
})

# Reasons that are not a failure at all.
NOT_FAILURES = frozenset({"vacation", "delivered", "feedback"})

# ARF feedback types (RFC 5965, 6591, 6650) and what they mean for the recipient.
FEEDBACK_TYPES: Mapping[str, str] = {
    "abuse": "complaint",
    "fraud": "complaint",
    "virus": "complaint",
    "other": "complaint",
    "opt-out": "unsubscribe",
    "auth-failure": "sender_side",
    "dmarc": "sender_side",
    "not-spam": "ignore",
}

# How a consent confirmation may have been obtained.
CONSENT_METHODS = ("email", "phone", "form", "ticket")


@dataclass(frozen=True)
class Decision:
    """``effect`` is one of: ``suppress`` (suppress ``reason_class`` on ``scope``),
    ``count`` (a soft bounce below the threshold), ``alert`` (sender-side failure),
    ``reset`` (a delivery), ``record`` (kept, no effect)."""

    effect: str
    reason_class: str | None = None
    scope: str = "*"
    expires_at: datetime | None = None
    why: str = ""


def reason_class_of(feedback: Feedback) -> str | None:
    """The reason class a piece of feedback belongs to, or a pseudo class:
    ``sender_side``, ``delivered``, ``ignore``."""
    kind = feedback.kind
    if kind == "complaint":
        return FEEDBACK_TYPES.get((feedback.feedback_type or "abuse").lower(), "complaint")
    if kind == "unsubscribe":
        return "unsubscribe"
    if kind == "delivered":
        return "delivered"
    if kind in ("autoreply", "delay"):
        return "ignore"
    reason = (feedback.reason or "").lower()
    if reason in NOT_FAILURES:
        return "ignore"
    if reason in SENDER_SIDE_REASONS:
        return "sender_side"
    if reason in HARD_REASONS and _is_permanent(feedback):
        return "hard_bounce"
    if not reason and feedback.hard_bounce and _is_permanent(feedback):
        return "hard_bounce"
    return "soft_bounce"


def _is_permanent(feedback: Feedback) -> bool:
    if feedback.reply_code:
        return feedback.reply_code.startswith("5")
    if feedback.status:
        return feedback.status.startswith("5")
    return bool(feedback.hard_bounce)


def decide(
    feedback: Feedback,
    policy: Mapping[str, Mapping[str, Any]],
    now: datetime,
    recent_soft_bounces: int = 0,
) -> Decision:
    """``recent_soft_bounces`` counts earlier soft bounces inside the window since the
    last delivery (this one not included)."""
    cls = reason_class_of(feedback)
    if cls == "sender_side":
        return Decision("alert", why=f"sender-side failure ({feedback.reason or feedback.feedback_type})")
    if cls == "delivered":
        return Decision("reset", why="delivered: soft-bounce count starts again")
    if cls == "ignore" or cls is None:
        return Decision("record", why=f"{feedback.kind} does not suppress")
    rule = policy[cls]
    scope = rule.get("scope") or feedback.scope or "*"
    expires_at = _expiry(rule, now)
    threshold = int(rule.get("suppress_after", 1))
    if cls == "soft_bounce" and recent_soft_bounces + 1 < threshold:
        return Decision(
            "count", cls, scope,
            why=f"soft bounce {recent_soft_bounces + 1} of {threshold} within "
                f"{rule.get('window_days')} days",
        )
    return Decision("suppress", cls, scope, expires_at, why=_why(feedback, cls, threshold))


def _expiry(rule: Mapping[str, Any], now: datetime) -> datetime | None:
    days = rule.get("expires_days")
    return now + timedelta(days=float(days)) if days else None


def _why(feedback: Feedback, cls: str, threshold: int) -> str:
    detail = " ".join(x for x in (feedback.reply_code, feedback.status, feedback.reason) if x)
    if cls == "soft_bounce":
        return f"{threshold} soft bounces within the window ({detail})"
    if cls == "complaint":
        return f"spam complaint ({feedback.feedback_type or 'abuse'}): consent revoked"
    if cls == "unsubscribe":
        return f"unsubscribed from {feedback.scope}"
    return f"{cls.replace('_', ' ')} ({detail})" if detail else cls.replace("_", " ")


def soft_window_start(policy: Mapping[str, Mapping[str, Any]], now: datetime) -> datetime:
    return now - timedelta(days=float(policy["soft_bounce"].get("window_days") or 14))


def lift_rule(policy: Mapping[str, Mapping[str, Any]], reason_class: str) -> str:
    return str(policy[reason_class].get("lift", "operator"))


LIFT_EXPLANATIONS: Mapping[str, str] = {
    "consent": "a spam complaint revokes consent: only a recorded confirmation from the recipient "
               "lifts it (give --consent-by, --consent-method, --evidence and, if any, --ticket)",
    "resubscribe": "an unsubscribe is lifted only by the recipient's own re-subscription "
                   "(`postwarden resubscribe` records it)",
    "recheck": "lifted after the address was corrected or re-verified; if it bounces hard again "
               "it is suppressed again",
    "operator": "an operator may lift it with a note",
}


def strongest(classes: list[str]) -> str:
    return min(classes, key=PRECEDENCE.index)
